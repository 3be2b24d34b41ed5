# Ablation of mer-clip_htnet-flow-28px_1xb32-40e_megc2019-3cls.py: a linear classifier on F_g
# instead of the emotion transformer head (same focal loss); alignment, data, areas, augmentation
# and schedule unchanged.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
_base_ = ['./mer-clip_htnet-flow-28px_1xb32-40e_megc2019-3cls.py']

model = dict(cls_head=dict(
    _delete_=True,
    type='UniFormerHead',  # mmaction's linear head on a (B, C) feature
    num_classes={{_base_.num_classes}},
    in_channels={{_base_.visual_dim}},
    dropout_ratio=0.0,
    loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
    topk=(1, ),
    average_clips='prob'))
