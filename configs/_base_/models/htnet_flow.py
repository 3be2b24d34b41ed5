# HTNet (Wang et al., Neurocomputing 2024) at its published size on the 2 x 2 mosaic of four facial
# areas (CropFacialAreas, 28 x 28, u / v / strain): patch 7, dim 256, 3 heads, 3 levels, blocks
# (2, 2, 10); HTNet's head (channel LayerNorm in the backbone, then mean + linear = mmaction's
# TSNHead with average pooling). 139.6 M parameters, 1.28 GFLOP per sample forward + backward: a GPU
# model (docs/speed.md). Cross-entropy as the authors.
num_classes = 3
htnet = dict(type='HTNet', image_size=28, patch_size=7, dim=256, heads=3, num_levels=3,
             block_repeats=(2, 2, 10), mlp_ratio=4, in_channels=3, dropout=0.0)

model = dict(
    type='Recognizer2D',
    backbone=htnet,
    cls_head=dict(
        type='TSNHead',
        num_classes=num_classes,
        in_channels=1024,  # 4 x dim
        spatial_type='avg',
        dropout_ratio=0.0,
        loss_cls=dict(type='CrossEntropyLoss'),
        topk=(1, ),
        average_clips='prob'),
    # LoadMEImage already maps the flow to [-1, 1]: no mean / std here
    data_preprocessor=dict(type='NoCopyActionDataPreprocessor', format_shape='NCHW'))
