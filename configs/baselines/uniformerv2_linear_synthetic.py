# Baseline for configs/mer_clip_synthetic.py: the same tiny UniFormerV2, a linear head, the same loss,
# data, augmentation and schedule; no text and no transformer head (mmaction's Recognizer3D).
#
#   python tools/train.py configs/baselines/uniformerv2_linear_synthetic.py --loso-subject s01
_base_ = [
    '../_base_/models/uniformerv2_tiny_linear.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adamw_cosine_20e_tiny.py', '../_base_/default_runtime.py'
]
