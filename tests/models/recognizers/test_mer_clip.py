import copy
import warnings

import pytest
import torch

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

from tests.models.tiny import tiny_uniformerv2_cfg

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


def test_encode_video_and_text_in_the_aligned_space():
    model = _build().eval()
    inputs, _ = _batch(n=2, clips=2)
    with torch.no_grad():
        video = model.encode_video(inputs)  # (N * clips, E)
        fused, _ = model.backbone(inputs.flatten(0, 1))
        assert torch.equal(video, model.align_head.project_visual(fused))
        text = model.encode_text(PROMPTS[:2])
        assert torch.equal(text, model.align_head.project_text(model.text_encoder(PROMPTS[:2])))
    assert video.shape == (4, 32) and text.shape == (2, 32)
    assert torch.allclose(video.norm(dim=-1), torch.ones(4)) and torch.allclose(
        text.norm(dim=-1), torch.ones(2))
    assert torch.equal(model.alignment_scale(), model.align_head.scale())
    plain = _build(align_head=None, text_encoder=None)
    for call in (lambda: plain.encode_video(inputs), lambda: plain.encode_text(PROMPTS),
                 plain.alignment_scale):
        with pytest.raises(ValueError, match='align_head=None'):
            call()


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


# ---------------------------------------------------- images (flows) and samples without AUs
def _flow_model(**overrides):
    cfg = dict(
        type='MERCLIP',
        backbone=dict(type='FeatureMapTokens', backbone=dict(type='STSTNet'), embed_dim=32),
        cls_head=dict(type='EmotionTransformerHead', num_classes=3, in_channels=32,
                      hidden_dim=32, num_heads=4),
        text_encoder=TINY_TEXT,
        align_head=dict(type='AUTextAlignHead', embed_dim=32),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCHW'))
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _flow_batch(has_aus=(True, False, True, False, True, True), segs=1, seed=0):
    """Flow images (N, segs, 3, 28, 28); samples with has_aus=False carry no prompt (SMIC)."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(len(has_aus), segs, 3, 28, 28, generator=g)
    samples = []
    for i, flag in enumerate(has_aus):
        y = i % 3
        meta = dict(sample_id=f'f{i}', has_aus=flag, au_prompt=PROMPTS[y] if flag else '',
                    au_key=str(y) if flag else '')
        samples.append(ActionDataSample(metainfo=meta).set_gt_label(y))
    return inputs, samples


def _capture_fused(model):
    """Keep the backbone's F_g (with its gradient) of the next forward."""
    kept = {}

    def hook(module, args, out):
        out[0].retain_grad()
        kept['fused'] = out[0]
    return kept, model.backbone.register_forward_hook(hook)


def test_samples_without_aus_get_exactly_zero_contrastive_gradient():
    model = _flow_model()
    inputs, samples = _flow_batch()
    masked = [i for i, s in enumerate(samples) if not s.metainfo['has_aus']]
    kept, handle = _capture_fused(model)
    losses = model(inputs, samples, mode='loss')  # training mode: dropout, batch statistics
    handle.remove()
    assert losses['clip_samples'].item() == 4
    losses['loss_clip'].backward(retain_graph=True)
    grad = kept['fused'].grad
    assert (grad[masked] == 0).all()  # exactly zero, not small
    assert (grad[[0, 2, 4, 5]].abs().sum(1) > 0).all()
    kept['fused'].grad = None
    losses['loss_cls'].backward()
    assert (kept['fused'].grad[masked].abs().sum(1) > 0).all()  # they still train the classifier

    # in eval mode (no batch statistics coupling the samples), down to the input images, and the
    # loss equals the loss of the batch without them
    model.eval()
    x = inputs.clone().requires_grad_()
    out = model(x, samples, mode='loss')
    (g, ) = torch.autograd.grad(out['loss_clip'], x)
    assert (g[masked] == 0).all() and (g[[0, 2, 4, 5]].abs().sum() > 0)
    keep = [0, 2, 4, 5]
    alone = model(inputs[keep], [samples[i] for i in keep], mode='loss')
    torch.testing.assert_close(out['clip_raw'], alone['clip_raw'])


def test_batch_without_any_au_sample_gives_a_zero_connected_loss(monkeypatch):
    model = _flow_model()
    inputs, samples = _flow_batch(has_aus=(False, ) * 4)

    def no_text(*args, **kwargs):
        raise AssertionError('the text encoder must not run without prompts')
    monkeypatch.setattr(model.text_encoder, 'forward', no_text)
    losses = model(inputs, samples, mode='loss')
    assert losses['loss_clip'].item() == 0.0 and torch.isfinite(losses['loss_clip'])
    assert losses['clip_samples'].item() == 0
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, p in model.align_head.named_parameters():  # in the graph (DDP), zero gradient
        assert p.grad is not None and (p.grad == 0).all(), name
    assert model.cls_head.fc_cls.weight.grad.abs().sum() > 0


def test_image_inputs_predict_tensor_and_segments():
    model = _flow_model().eval()
    inputs, samples = _flow_batch(segs=2)
    with torch.no_grad():
        fused, tokens = model(inputs, mode='tensor')
        logits = model(inputs, mode='tensor', stage='head')
        preds = model(inputs, samples, mode='predict')
    assert fused.shape == (12, 32) and tokens.shape == (12, 25, 32) and logits.shape == (12, 3)
    probs = logits.softmax(-1).view(6, 2, 3).mean(1)  # the 2 segments of a sample averaged
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]), probs)
    with pytest.raises(ValueError, match='one clip per sample'):
        model.train()(inputs, samples, mode='loss')


def test_mask_key_absent_means_aligned_and_no_alignment_ignores_masks():
    model = _flow_model()
    inputs, samples = _flow_batch(has_aus=(True, ) * 3)
    for s in samples:
        s.set_metainfo(dict(has_aus=True))
    legacy = [ActionDataSample(metainfo={k: v for k, v in s.metainfo.items() if k != 'has_aus'})
              .set_gt_label(s.gt_label) for s in samples]
    assert model(inputs, legacy, mode='loss')['clip_samples'].item() == 3
    plain = _flow_model(align_head=None, text_encoder=None)
    out = plain(*_flow_batch(), mode='loss')
    assert 'loss_clip' not in out and torch.isfinite(out['loss_cls'])
