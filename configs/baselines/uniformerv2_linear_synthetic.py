# Baseline for configs/mer_clip_synthetic.py: the same tiny UniFormerV2, a linear head, the same loss,
# data, augmentation and schedule; no text and no transformer head (mmaction's Recognizer3D).
#
#   python tools/train.py configs/baselines/uniformerv2_linear_synthetic.py --loso-subject s01
_base_ = [
    '../_base_/models/uniformerv2_tiny_linear.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adamw_cosine_55e.py', '../_base_/default_runtime.py'
]

max_epochs = 20
warmup_epochs = 2
base_lr = 1e-3

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]
