# OFF-ApexNet (Gan et al., 2019) on the u and v channels of 28 x 28 flow images: two LeNet-like
# streams (5x5 convs with 6 and 16 filters, ReLU, 2x2 max pooling), flattened and joined by two
# fully connected layers of 1024 (ReLU, dropout 0.5); the output layer is mmaction's TSNHead.
# 2.66 M parameters. Cross-entropy.
num_classes = 3

model = dict(
    type='Recognizer2D',
    backbone=dict(type='OFFApexNet', flow_channels=(0, 1), conv_channels=(6, 16), kernel_size=5,
                  fc_channels=(1024, 1024), dropout=0.5, input_size=(28, 28)),
    cls_head=dict(
        type='TSNHead',
        num_classes=num_classes,
        in_channels=1024,
        spatial_type=None,
        dropout_ratio=0.0,
        loss_cls=dict(type='CrossEntropyLoss'),
        topk=(1, ),
        average_clips='prob'),
    data_preprocessor=dict(type='NoCopyActionDataPreprocessor', format_shape='NCHW'))
