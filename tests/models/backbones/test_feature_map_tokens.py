"""FeatureMapTokens: a 2D map -> (F_g, position-aware local tokens) for MER-CLIP's heads."""
import pytest
import torch

import mer_clip  # noqa: F401
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from mer_clip.models.backbones.visual_features import split_fused_and_tokens

init_default_scope('mmaction')


def build(**kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type='FeatureMapTokens', backbone=dict(type='STSTNet'),
                             embed_dim=32, **kw))


def test_shapes_contract_and_no_bn_update_at_build():
    net = build()
    bn = net.backbone.streams[2]
    assert bn.num_batches_tracked.item() == 0  # the probe forward ran in eval mode
    assert net.training and net.out_channels == 32 and net.map_shape == (16, 5, 5)
    out = net(torch.randn(3, 3, 28, 28))
    fused, tokens = split_fused_and_tokens(out)
    assert fused.shape == (3, 32) and tokens.shape == (3, 25, 32)


def test_tokens_know_their_position_and_fg_sees_the_layout():
    net = build().eval()
    x = torch.randn(1, 3, 28, 28)
    fmap = net.backbone(x)
    swapped = fmap.clone()
    swapped[..., 0, 0], swapped[..., 4, 4] = fmap[..., 4, 4], fmap[..., 0, 0]
    # the same local features at two other places: F_g changes and the token set changes
    net.backbone.forward = lambda _: swapped
    fused2, tokens2 = net(x)
    del net.backbone.forward
    fused, tokens = net(x)
    assert not torch.allclose(fused, fused2)
    assert not torch.allclose(tokens[:, 0], tokens2[:, 24])  # a position embedding is added


def test_mer_clip_heads_train_on_it():
    net = build()
    head = MODELS.build(dict(type='EmotionTransformerHead', num_classes=3, in_channels=32,
                             hidden_dim=32))
    logits = head(net(torch.randn(4, 3, 28, 28)))
    logits.sum().backward()
    assert logits.shape == (4, 3)
    assert net.pos_embed.grad is not None and net.backbone.streams[0].weight.grad is not None


def test_errors():
    with pytest.raises(ValueError, match=r'\(B, C, h, w\) map'):
        MODELS.build(dict(type='FeatureMapTokens', backbone=dict(type='OFFApexNet')))
    net = build()
    with pytest.raises(ValueError, match='built for a'):
        net(torch.randn(1, 3, 40, 40))
