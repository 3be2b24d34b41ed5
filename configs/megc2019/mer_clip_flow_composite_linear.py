# Ablation of mer_clip_flow_composite.py: a linear classifier on F_g instead of the emotion
# transformer head (same focal loss); alignment, data, augmentation and schedule unchanged.
# Augmentations: MEFlip(flip_ratio=0.5)
_base_ = ['./mer_clip_flow_composite.py']

model = dict(cls_head=dict(
    _delete_=True,
    type='UniFormerHead',  # mmaction's linear head on a (B, C) feature
    num_classes={{_base_.num_classes}},
    in_channels={{_base_.visual_dim}},
    dropout_ratio=0.0,
    loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
    topk=(1, ),
    average_clips='prob'))
