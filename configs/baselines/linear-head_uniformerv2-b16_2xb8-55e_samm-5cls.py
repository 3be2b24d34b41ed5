# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head).
# SAMM, 5 classes (anger, contempt, happiness, others, surprise; 136 clips, 32 subjects), LOSO.
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU (x 2 GPUs in the paper), bf16 mixed precision
# (_base_/amp_bf16.py: GPU only, see docs/speed.md).
# The paper's augmentations (_base_/augmentations.py): AugMix, colour jitter and flip in the train
# pipeline (from the dataset base), LocalStaticFaceMix in the data preprocessor (set here).
# augmentations: augmix, color_jitter, flip, lsfm
#
# Run (loso.py: every fold, pooled metrics; train.py --loso-subject: one fold):
#   python tools/loso.py configs/baselines/linear-head_uniformerv2-b16_2xb8-55e_samm-5cls.py
#   python tools/train.py configs/baselines/linear-head_uniformerv2-b16_2xb8-55e_samm-5cls.py \
#       --loso-subject SUBJECT
# Data paths: _base_/datasets/samm.py; weight files (local, nothing is downloaded):
# _base_/models/uniformerv2_b16.py.
_base_ = [
    '../_base_/models/uniformerv2_b16_linear.py', '../_base_/datasets/samm.py',
    '../_base_/amp_bf16.py', '../_base_/default_runtime.py'
]

model = dict(data_preprocessor=dict(blending=_base_.aug_lsfm))
