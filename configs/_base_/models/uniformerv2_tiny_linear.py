# Baseline of the tiny MER-CLIP: the same tiny UniFormerV2 (uniformerv2_tiny.py), a linear head on
# its output, the same loss and augmentation; mmaction's stock Recognizer3D and UniFormerHead.
_base_ = ['./uniformerv2_tiny.py']

num_classes = 3

model = dict(
    type='Recognizer3D',
    backbone=dict(output='fused'),  # (B, C)
    cls_head=dict(
        type='UniFormerHead',
        num_classes=num_classes,
        in_channels={{_base_.visual_dim}},
        dropout_ratio=0.5,
        topk=(1, ),
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
        average_clips='prob'))
