# Baseline for configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py: the same tiny
# UniFormerV2, a linear head, the same loss, data, augmentations and schedule; no text and no
# transformer head (mmaction's Recognizer3D).
# augmentations: augmix, color_jitter, flip, lsfm
#
#   python tools/train.py \
#       configs/baselines/linear-head_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py --loso-subject s01
_base_ = [
    '../_base_/models/uniformerv2_tiny_linear.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adamw_cosine_20e_tiny.py', '../_base_/default_runtime.py'
]

model = dict(data_preprocessor=dict(blending=_base_.aug_lsfm))
