import pytest
import torch
import torch.nn.functional as F

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from tests.models.tiny import tiny_uniformerv2_cfg

init_default_scope('mmaction')


def _head(in_channels=64, num_classes=3, **kw):
    torch.manual_seed(0)
    head = MODELS.build(dict(type='EmotionTransformerHead', num_classes=num_classes,
                             in_channels=in_channels, **kw))
    head.init_weights()
    return head


def _samples(labels):
    return [ActionDataSample().set_gt_label(int(y)) for y in labels]


def test_paper_structure_and_shapes():
    head = _head(hidden_dim=512)
    assert len(head.blocks) == 2
    block = head.blocks[0]
    assert block.self_attn.num_heads == 4 and block.linear1.out_features == 4 * 512
    assert block.dropout.p == pytest.approx(0.1)
    assert isinstance(head.proj, torch.nn.Linear) and head.proj.out_features == 512
    assert type(head.loss_cls).__name__ == 'SoftmaxFocalLoss' and head.loss_cls.gamma == 2.0
    fused, tokens = torch.randn(2, 64), torch.randn(2, 10, 64)
    assert head((fused, tokens)).shape == (2, 3)
    assert head({'fused': fused, 'local_tokens': tokens}).shape == (2, 3)
    assert head(fused).shape == (2, 3)  # (B, C): a one-token sequence
    assert head(torch.randn(2, 64, 2, 3, 3)).shape == (2, 3)  # (B, C, T, H, W) feature map
    with pytest.raises(ValueError, match='in_channels=64'):
        head(torch.randn(2, 32))


def test_readout_uses_fused_token_and_local_tokens():
    head = _head(dropout=0.0).eval()
    fused, tokens = torch.randn(2, 64), torch.randn(2, 10, 64)
    base = head((fused, tokens))
    # the local tokens reach the prediction through attention (Eq. 4)
    assert not torch.allclose(base, head((fused, tokens + torch.randn_like(tokens))))
    # the order of the local tokens does not matter (no positional embedding in the head):
    # the readout is the F_g position
    perm = torch.randperm(10)
    assert torch.allclose(base, head((fused, tokens[:, perm])), atol=1e-5)
    # the feature-map path is (mean of positions, positions) as the token sequence
    fmap = torch.randn(2, 64, 2, 3, 3)
    seq = fmap.flatten(2).transpose(1, 2)
    assert torch.allclose(head(fmap), head((seq.mean(1), seq)), atol=1e-5)


def test_loss_and_predict():
    head = _head(num_classes=3)
    feats = (torch.randn(4, 64), torch.randn(4, 6, 64))
    losses = head.loss(feats, _samples([0, 1, 2, 1]))
    assert set(losses) == {'loss_cls', 'top1_acc'}
    assert losses['loss_cls'].ndim == 0 and losses['loss_cls'] > 0
    losses['loss_cls'].backward()
    assert head.fc_cls.weight.grad.abs().sum() > 0
    head.eval()
    preds = head.predict(feats, _samples([0, 1, 2, 1]))
    for p in preds:
        assert p.pred_score.shape == (3, )
        assert torch.allclose(p.pred_score.sum(), torch.tensor(1.0), atol=1e-5)
        assert p.pred_label.item() == p.pred_score.argmax().item()


def _train_steps(model, inputs, samples, steps=3):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    first = None
    for _ in range(steps):
        losses = model(inputs, samples, mode='loss')
        loss, _ = model.parse_losses(losses)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, losses


@pytest.mark.parametrize('backbone,in_channels', [
    # a stock mmaction2 3D CNN: its (B, C, T, H, W) map becomes the token sequence
    (dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False, base_channels=8,
          num_stages=2, out_indices=(1, ), spatial_strides=(1, 2), temporal_strides=(1, 1),
          dilations=(1, 1), inflate=(1, 1)), 16),
    # mmaction2's UniFormerV2 itself (a (B, C) output)
    (dict(tiny_uniformerv2_cfg(), type='UniFormerV2', clip_pretrained=False), 64),
    # our backbone in a stock recognizer: (F_g, local tokens)
    (tiny_uniformerv2_cfg(), 64),
])
def test_mixed_into_stock_recognizer3d(backbone, in_channels):
    """The head in a stock mmaction2 Recognizer3D config builds, trains one step and predicts."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='Recognizer3D', backbone=backbone,
        cls_head=dict(type='EmotionTransformerHead', num_classes=3, in_channels=in_channels,
                      hidden_dim=32, num_heads=4),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    data = dict(inputs=[torch.randint(0, 255, (1, 3, 8, 32, 32), dtype=torch.uint8)
                        for _ in range(4)],
                data_samples=_samples([0, 1, 2, 0]))
    batch = model.data_preprocessor(data, training=True)
    assert batch['inputs'].shape == (4, 1, 3, 8, 32, 32)
    first, losses = _train_steps(model, batch['inputs'], batch['data_samples'])
    assert torch.isfinite(losses['loss_cls'])
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(data, training=False), mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (3, )


def test_linear_projection_skipped_when_sizes_match():
    head = _head(in_channels=32, hidden_dim=32)
    assert isinstance(head.proj, torch.nn.Identity)
    assert head((torch.randn(1, 32), torch.randn(1, 4, 32))).shape == (1, 3)


def test_focal_loss_in_head_matches_direct_computation():
    head = _head(num_classes=3).eval()  # no dropout: both calls see the same logits
    feats = (torch.randn(4, 64), torch.randn(4, 6, 64))
    labels = torch.tensor([0, 2, 2, 1])
    logits = head(feats)
    p = F.softmax(logits, -1)[torch.arange(4), labels]
    expected = (-(1 - p) ** 2 * p.log()).mean()
    assert torch.allclose(head.loss(feats, _samples(labels))['loss_cls'], expected, atol=1e-6)
