"""STSTNet: shapes of the paper's layout, parameter count, a training step, registry."""
import pytest
import torch

import mer_clip  # noqa: F401
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from mer_clip.models.backbones import STSTNet

init_default_scope('mmaction')


def test_layout_shapes_and_parameters():
    net = MODELS.build(dict(type='STSTNet'))
    assert isinstance(net, STSTNet) and net.out_channels == 16
    # per stream: 3x3x3 conv (k filters + bias) and batch norm (2k): 84 + 140 + 224 + 32
    assert sum(p.numel() for p in net.parameters()) == 480
    x = torch.randn(4, 3, 28, 28)
    out = net(x)
    assert out.shape == (4, 16, 5, 5)  # 28 -> 30 (pad 2) -> 10 (pool 3/3) -> 5 (avg 2/2)
    stream = net.streams[1]
    assert stream[0].out_channels == 5 and stream[0].kernel_size == (3, 3)
    assert [type(m).__name__ for m in stream] == ['Conv2d', 'ReLU', 'BatchNorm2d', 'MaxPool2d',
                                                  'Dropout']


def test_recognizer2d_forward_backward_with_the_papers_dense_layer():
    model = MODELS.build(dict(
        type='Recognizer2D', backbone=dict(type='STSTNet'),
        cls_head=dict(type='TSNHead', num_classes=3, in_channels=400, spatial_type=None,
                      dropout_ratio=0.0, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCHW')))
    assert sum(p.numel() for p in model.parameters()) == 480 + 400 * 3 + 3  # 1,683
    from mmaction.structures import ActionDataSample
    inputs = torch.randn(6, 1, 3, 28, 28)  # (N, segments, C, H, W) as packed by the pipeline
    samples = [ActionDataSample().set_gt_label(i % 3) for i in range(6)]
    losses = model(inputs, samples, mode='loss')
    losses['loss_cls'].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())
    model.eval()
    preds = model(inputs, samples, mode='predict')
    assert preds[0].pred_score.shape == (3, )


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\) flow images'):
        STSTNet()(torch.randn(2, 2, 28, 28))
    with pytest.raises(ValueError, match='positive'):
        STSTNet(stream_channels=(3, 0))
