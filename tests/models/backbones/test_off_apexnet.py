"""OFF-ApexNet: two streams on u and v, FC 1024-1024, parameter count, training step, registry."""
import pytest
import torch

import mer_clip  # noqa: F401
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from mer_clip.models.backbones import OFFApexNet

init_default_scope('mmaction')


def test_layout_shapes_and_parameters():
    net = MODELS.build(dict(type='OFFApexNet'))
    assert isinstance(net, OFFApexNet) and net.out_channels == 1024
    conv = 2 * ((5 * 5 * 1 * 6 + 6) + (5 * 5 * 6 * 16 + 16))
    fc = (2 * 16 * 7 * 7 * 1024 + 1024) + (1024 * 1024 + 1024)
    assert sum(p.numel() for p in net.parameters()) == conv + fc  # 2,661,400 (+ 3,075 head)
    x = torch.randn(3, 3, 28, 28)
    assert net(x).shape == (3, 1024)
    fmap = OFFApexNet(output='feature_map')
    assert fmap(x).shape == (3, 32, 7, 7) and fmap.out_channels == 32 and fmap.fc is None


def test_streams_see_only_u_and_v():
    net = OFFApexNet(output='feature_map').eval()
    x = torch.randn(2, 3, 28, 28)
    y = x.clone()
    y[:, 2] = torch.randn(2, 28, 28)  # another strain channel: no effect
    torch.testing.assert_close(net(x), net(y))
    z = x.clone()
    z[:, 1] += 1.0  # another v: only the second stream's half changes
    out_x, out_z = net(x), net(z)
    torch.testing.assert_close(out_x[:, :16], out_z[:, :16])
    assert not torch.allclose(out_x[:, 16:], out_z[:, 16:])


def test_forward_backward_in_recognizer2d():
    model = MODELS.build(dict(
        type='Recognizer2D', backbone=dict(type='OFFApexNet'),
        cls_head=dict(type='TSNHead', num_classes=3, in_channels=1024, spatial_type=None,
                      dropout_ratio=0.0),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCHW')))
    from mmaction.structures import ActionDataSample
    samples = [ActionDataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(torch.randn(4, 1, 3, 28, 28), samples, mode='loss')['loss_cls']
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_errors():
    with pytest.raises(ValueError, match='two channel indices'):
        OFFApexNet(flow_channels=(0, 1, 2))
    with pytest.raises(ValueError, match='divisible'):
        OFFApexNet(input_size=(30, 30))
    with pytest.raises(ValueError, match=r'built for \(28, 28\)'):
        OFFApexNet()(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match='u, v at channels'):
        OFFApexNet()(torch.randn(1, 1, 28, 28))
