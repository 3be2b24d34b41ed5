# Baseline: plain UniFormerV2-B/16 (uniformerv2_b16.py) + a linear classifier, on mmaction's stock
# Recognizer3D and UniFormerHead; same encoder, weights, input, augmentation and loss as MER-CLIP,
# no text and no transformer head.
_base_ = ['./uniformerv2_b16.py']

num_classes = 5

model = dict(
    type='Recognizer3D',
    backbone=dict(output='fused'),  # (B, C): exactly mmaction's UniFormerV2 output
    cls_head=dict(
        type='UniFormerHead',
        num_classes=num_classes,
        in_channels={{_base_.visual_dim}},
        dropout_ratio=0.5,
        topk=(1, ),
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0),
        average_clips='prob'))
