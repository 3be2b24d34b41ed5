# Runtime of the MER-CLIP configs: the default runtime plus progressive training (Eq. 14-15): the
# contrastive weight falls linearly per epoch from 1.0 to the floor 0.5 (the authors' 2.0 -> 1.0 of
# a total 2.0, normalised), the classification weight is 1 - w. Without this hook (an ablation)
# model.loss_weights apply throughout. A list in a child config replaces the base list, so
# RNGStateHook (exact resume) and CheckInvalidLossHook (see default_runtime.py) are repeated here.
_base_ = ['./default_runtime.py']

custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='CheckInvalidLossHook'),
    dict(type='ProgressiveLossHook', start=1.0, end=0.5, total=1.0),
]
