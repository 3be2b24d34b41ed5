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
    assert net.stream_slices == ((0, 3), (3, 8), (8, 16))
    assert net.streams[0].out_channels == 16 and net.streams[0].kernel_size == (3, 3)
    assert [type(m).__name__ for m in net.streams] == ['Conv2d', 'ReLU', 'BatchNorm2d',
                                                       'MaxPool2d', 'Dropout']


def test_equals_three_separate_streams():
    """The fused layer stack is the paper's three parallel streams: copy its filters into three
    separate streams (3, 5, 8 filters, each seeing all channels) and compare, in training mode
    (batch statistics) and in eval mode (running statistics)."""
    torch.manual_seed(0)
    net = STSTNet(dropout=0.0)
    conv, bn = net.streams[0], net.streams[2]
    streams = []
    for lo, hi in net.stream_slices:
        c = torch.nn.Conv2d(3, hi - lo, 3, padding=2)
        b = torch.nn.BatchNorm2d(hi - lo)
        with torch.no_grad():
            c.weight.copy_(conv.weight[lo:hi])
            c.bias.copy_(conv.bias[lo:hi])
            b.weight.copy_(torch.rand(hi - lo) + 0.5)
            b.bias.copy_(torch.randn(hi - lo))
            bn.weight[lo:hi] = b.weight
            bn.bias[lo:hi] = b.bias
        streams.append(torch.nn.Sequential(c, torch.nn.ReLU(), b,
                                           torch.nn.MaxPool2d(3, stride=3, padding=1)))
    x = torch.randn(5, 3, 28, 28)
    for train in (True, False):
        net.train(train)
        for s in streams:
            s.train(train)
        ref = torch.nn.functional.avg_pool2d(torch.cat([s(x) for s in streams], 1), 2)
        torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)


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
