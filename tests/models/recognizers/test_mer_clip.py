import copy
import warnings

import pytest
import torch

from mer_clip.models.backbones.mer_uniformerv2 import tiny_uniformerv2_cfg
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

init_default_scope('mmaction')

TINY_TEXT = dict(type='CLIPTextEncoder',
                 arch=dict(embed_dim=32, context_length=40, vocab_size=49408, width=32, heads=2,
                           layers=1))
PROMPTS = ['This micro-expression involves lowering the brows.',
           'This micro-expression involves pulling the corners of the lips.',
           'This micro-expression involves raising the upper lids.']


def _cfg(**overrides):
    cfg = dict(
        type='MERCLIP',
        backbone=tiny_uniformerv2_cfg(),
        cls_head=dict(type='EmotionTransformerHead', num_classes=3, in_channels=64,
                      hidden_dim=32, num_heads=4),
        text_encoder=TINY_TEXT,
        align_head=dict(type='AUTextAlignHead', embed_dim=32),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
    cfg.update(overrides)
    return cfg


def _build(**overrides):
    torch.manual_seed(0)
    model = MODELS.build(_cfg(**overrides))
    model.init_weights()
    return model


def _batch(n=6, clips=1, labels=None, prompts=True, seed=0):
    """n clips of 8x32x32; class c has prompt c and a class-specific blob (learnable)."""
    g = torch.Generator().manual_seed(seed)
    labels = labels if labels is not None else [i % 3 for i in range(n)]
    inputs = torch.randn(n, clips, 3, 8, 32, 32, generator=g) * 0.5
    samples = []
    for i, y in enumerate(labels):
        inputs[i, :, y, :, 8 * y:8 * y + 8] += 2.0  # class signal in channel y
        meta = dict(sample_id=f's{i}')
        if prompts:
            meta.update(au_prompt=PROMPTS[y], au_key=str(y))
        samples.append(ActionDataSample(metainfo=meta).set_gt_label(y))
    return inputs, samples


def test_loss_mode_weights_and_logging():
    model = _build()
    assert model.loss_weights == dict(clip=0.5, cls=0.5)
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert {'loss_cls', 'loss_clip', 'cls_raw', 'clip_raw', 'top1_acc'} <= set(losses)
    assert torch.allclose(losses['loss_cls'], 0.5 * losses['cls_raw'])
    assert torch.allclose(losses['loss_clip'], 0.5 * losses['clip_raw'])
    total, log_vars = model.parse_losses(losses)
    # the raw values are logged but not summed into the total
    assert torch.allclose(total, losses['loss_cls'] + losses['loss_clip'])
    assert 'cls_raw' in log_vars and 'clip_raw' in log_vars
    # the hook's interface changes the weighting of the next step
    model.set_loss_weights(clip=0.9, cls=0.1)
    model.eval()  # no dropout: same raw values
    torch.manual_seed(0)
    a = model(inputs, samples, mode='loss')
    assert torch.allclose(a['loss_clip'], 0.9 * a['clip_raw'])
    assert torch.allclose(a['loss_cls'], 0.1 * a['cls_raw'])
    with pytest.raises(ValueError, match='>= 0'):
        model.set_loss_weights(clip=-1, cls=1)


def test_loss_weights_from_config():
    model = _build(loss_weights=dict(clip=1.0, cls=0.0))
    assert model.loss_weights == dict(clip=1.0, cls=0.0)
    with pytest.raises(ValueError, match="'clip' and 'cls'"):
        _build(loss_weights=dict(clip=1.0, ce=0.0))


def test_gradients_reach_visual_branch_through_both_losses():
    model = _build()
    inputs, samples = _batch()
    for weights, name in [(dict(clip=1.0, cls=0.0), 'align_head'),
                          (dict(clip=0.0, cls=1.0), 'cls_head')]:
        model.zero_grad()
        model.set_loss_weights(**weights)
        total, _ = model.parse_losses(model(inputs, samples, mode='loss'))
        total.backward()
        assert model.backbone.fusion_logit.grad.abs().sum() > 0
        head_grad = sum(p.grad.abs().sum() for p in getattr(model, name).parameters()
                        if p.grad is not None)
        other = 'cls_head' if name == 'align_head' else 'align_head'
        other_grad = sum(p.grad.abs().sum() for p in getattr(model, other).parameters()
                         if p.grad is not None)
        assert head_grad > 0 and other_grad == 0
    # frozen text tower: no gradients
    assert all(p.grad is None for p in model.text_encoder.parameters())


def test_missing_prompt_is_a_clear_error():
    model = _build()
    inputs, samples = _batch(prompts=False)
    with pytest.raises(KeyError, match="sample 's0' has no 'au_prompt'.*GenerateAUPrompt"):
        model(inputs, samples, mode='loss')
    # predict never needs text
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert len(preds) == 6


def test_predict_and_tensor_modes():
    model = _build().eval()
    inputs, samples = _batch(n=3, clips=2, prompts=False)
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
        fused, tokens = model(inputs, mode='tensor')
        logits = model(inputs, mode='tensor', stage='head')
    assert fused.shape == (6, 64) and tokens.shape == (6, 64, 64)  # N * num_clips views
    assert logits.shape == (6, 3)
    probs = logits.softmax(-1).view(3, 2, 3).mean(1)  # average_clips='prob' over the 2 views
    for p, ref in zip(preds, probs):
        assert torch.allclose(p.pred_score, ref, atol=1e-5)
        assert p.pred_label.item() == ref.argmax().item()
    with pytest.raises(ValueError, match='one clip per sample'):
        model.train()(inputs, _batch(n=3, clips=2)[1], mode='loss')


def _raw_losses(model, inputs, samples):
    torch.manual_seed(1234)  # the same dropout masks for every evaluation
    with torch.no_grad():
        out = model(inputs, samples, mode='loss')
    return out['clip_raw'].item(), out['cls_raw'].item()


def test_few_steps_lower_both_losses():
    model = _build()
    inputs, samples = _batch()
    clip0, cls0 = _raw_losses(model, inputs, samples)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    for _ in range(12):
        total, _ = model.parse_losses(model(inputs, samples, mode='loss'))
        optim.zero_grad()
        total.backward()
        optim.step()
    clip1, cls1 = _raw_losses(model, inputs, samples)
    assert clip1 < clip0 and cls1 < cls0, (clip0, clip1, cls0, cls1)


@pytest.mark.parametrize('ablation', ['no_alignment', 'linear_head', 'no_alignment_linear_head'])
def test_ablations_build_and_run(ablation):
    linear = dict(type='UniFormerHead', num_classes=3, in_channels=64, topk=(1, ),
                  average_clips='prob',
                  loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0))
    overrides = {}
    if 'no_alignment' in ablation:
        overrides['align_head'] = None
    if 'linear_head' in ablation:
        overrides['cls_head'] = linear
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = _build(**overrides)
    if 'no_alignment' in ablation:
        assert model.text_encoder is None and model.align_head is None
        assert any('text_encoder is ignored' in str(w.message) for w in caught)
    inputs, samples = _batch(prompts='no_alignment' not in ablation)
    losses = model(inputs, samples, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    if 'no_alignment' in ablation:
        assert 'loss_clip' not in losses
        assert torch.allclose(losses['loss_cls'], losses['cls_raw'])  # weight 1 without alignment
    else:
        assert torch.allclose(total, losses['loss_cls'] + losses['loss_clip'])
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert preds[0].pred_score.shape == (3, )


def test_alignment_needs_text_encoder():
    with pytest.raises(ValueError, match='align_head needs a text_encoder'):
        _build(text_encoder=None)


def test_bf16_autocast_loss_close_to_fp32():
    model = _build().eval()  # no dropout: both runs see the same network
    inputs, samples = _batch()
    with torch.no_grad():
        ref = model(inputs, samples, mode='loss')
        with torch.autocast('cpu', dtype=torch.bfloat16):
            amp = model(inputs, samples, mode='loss')
    for key in ('clip_raw', 'cls_raw'):
        assert amp[key].dtype == torch.float32  # losses computed in float32
        assert amp[key].item() == pytest.approx(ref[key].item(), rel=0.05), key


def test_config_is_not_mutated():
    cfg = _cfg()
    before = copy.deepcopy(cfg)
    MODELS.build(cfg)
    assert cfg == before


def test_samples_without_au_text_are_left_out_of_the_alignment():
    """'' prompts (GenerateAUPrompt(empty_prompt=''): no coded AUs, e.g. SMIC) keep their
    classification loss and do not enter the contrastive loss."""
    model = _build()
    model.eval()  # no dropout: comparable losses
    inputs, samples = _batch(n=6)
    for i in (1, 4):
        samples[i].set_metainfo(dict(au_prompt='', au_key=''))
    losses = model(inputs, samples, mode='loss')
    keep = [0, 2, 3, 5]
    sub = model(inputs[keep], [samples[i] for i in keep], mode='loss')
    assert torch.allclose(losses['clip_raw'], sub['clip_raw'], atol=1e-5)  # only AU samples
    full = model(inputs, _batch(n=6)[1], mode='loss')
    assert torch.allclose(losses['cls_raw'], full['cls_raw'])  # every sample classified
    # gradient of the alignment loss reaches no sample without AU text
    x = inputs.clone().requires_grad_(True)
    model(x, samples, mode='loss')['loss_clip'].backward()
    grad = x.grad.abs().flatten(1).sum(1)
    assert grad[[1, 4]].sum() == 0 and (grad[keep] > 0).all()
    # a batch without any AU text: zero alignment loss, still differentiable
    for s in samples:
        s.set_metainfo(dict(au_prompt='', au_key=''))
    none = model(inputs, samples, mode='loss')
    assert none['clip_raw'] == 0 and none['loss_clip'].requires_grad
