# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head), on the MEGC2019
# composite (SMIC-HS + CASME II + SAMM, 3 classes, 442 clips, 68 subjects), LOSO.
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU, bf16 mixed precision (GPU only).
# The paper's augmentations (_base_/augmentations.py): AugMix, colour jitter and flip in the train
# pipeline (from the dataset base), LocalStaticFaceMix in the data preprocessor (set here).
# augmentations: augmix, color_jitter, flip, lsfm
#
#   python tools/loso.py configs/megc2019/linear-head_uniformerv2-b16_2xb8-55e_megc2019-3cls.py
#   python tools/compare_runs.py work_dirs/linear-head_uniformerv2-b16_2xb8-55e_megc2019-3cls_loso \
#       work_dirs/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls_loso   # composite + per dataset
# Data paths: _base_/datasets/megc2019_composite.py; weight files: _base_/models/.
_base_ = [
    '../_base_/models/uniformerv2_b16_linear.py', '../_base_/datasets/megc2019_composite.py',
    '../_base_/amp_bf16.py', '../_base_/default_runtime.py'
]

model = dict(cls_head=dict(num_classes=3), data_preprocessor=dict(blending=_base_.aug_lsfm))
