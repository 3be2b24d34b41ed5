# STSTNet (Liong et al., FG 2019) on 28 x 28 u / v / strain flow images: three parallel one-layer
# streams (3x3 convs with 3, 5, 8 filters, ReLU, batch norm, 3x3 max pooling, dropout 0.5),
# concatenated, 2x2 average pooling -> (B, 16, 5, 5); the dense layer on the flattened 400 values
# is mmaction's TSNHead without spatial pooling. 1,683 parameters. Cross-entropy as the authors.
num_classes = 3

model = dict(
    type='Recognizer2D',
    backbone=dict(type='STSTNet', in_channels=3, stream_channels=(3, 5, 8), dropout=0.5),
    cls_head=dict(
        type='TSNHead',
        num_classes=num_classes,
        in_channels=400,  # 16 x 5 x 5, flattened
        spatial_type=None,
        dropout_ratio=0.0,
        loss_cls=dict(type='CrossEntropyLoss'),
        topk=(1, ),
        average_clips='prob'),
    # LoadMEImage already maps the flow to [-1, 1]: no mean / std here
    data_preprocessor=dict(type='NoCopyActionDataPreprocessor', format_shape='NCHW'))
