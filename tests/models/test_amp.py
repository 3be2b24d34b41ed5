"""bf16 mixed precision: the loss under autocast is close to the float32 loss, the logits of the
contrastive and focal losses stay float32 inside autocast, and a training step goes through the
AmpOptimWrapper of configs/_base_/amp_bf16.py.

Tolerance: bf16 keeps 8 significant bits (relative rounding up to 2^-9 = 0.2% per value); each
matmul output is rounded once and the ~10 layers between input and loss add such errors with
random signs, and the losses themselves are computed from float32 logits. Measured on these
batches: at most 0.1% relative difference (seeds 0-2). 1% is 10x that margin for other platforms'
bf16 kernels, and still below the 1.5% a single bf16 rounding of the contrastive logits (scale
1/0.07 = 14.3, values up to ~14, spacing 2^-4 there) could cause.
"""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

import mer_clip  # noqa: F401
from mer_clip.au.codes import AUCode
from mer_clip.au.prompts import au_key, au_prompt
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
# the tiny MER-CLIP as the synthetic config trains it (its data preprocessor blends with LSFM)
TINY = osp.join(CONFIGS, 'mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py')
AMP = osp.join(CONFIGS, '_base_', 'amp_bf16.py')
AUS = [[AUCode(4)], [AUCode(12, 'R')], [AUCode(1), AUCode(2)]]

init_default_scope('mmaction')
# what the tiny model configs need registered (e.g. their data preprocessor)
import_modules_from_strings(**Config.fromfile(TINY).custom_imports)


def _model():
    cfg = Config.fromfile(TINY)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, cfg.num_frames, cfg.input_size


def _data(frames, size, n=8, seed=0):
    """A packed batch as the DataLoader yields it (uint8 clips + samples with AU prompts)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        y = i % 3
        clip = torch.randint(0, 256, (1, 3, frames, size, size), generator=g, dtype=torch.uint8)
        inputs.append(clip)
        meta = dict(sample_id=f's{i}', au_prompt=au_prompt(AUS[y], i % 7), au_key=au_key(AUS[y]),
                    onset_index=0)
        samples.append(ActionDataSample(metainfo=meta).set_gt_label(y))
    return dict(inputs=inputs, data_samples=samples)


def _losses(model, data, autocast):
    processed = model.data_preprocessor(data, training=False)  # no LocalStaticFaceMix draw
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        return model(**processed, mode='loss')


def test_bf16_loss_close_to_fp32_and_losses_in_fp32(monkeypatch):
    model, frames, size = _model()
    model.eval()  # no dropout / drop path: both runs compute the same function
    data = _data(frames, size)

    seen = []  # (shape, dtype, autocast on?) of every log_softmax input: the losses' logits
    real_log_softmax = F.log_softmax

    def spy(x, *args, **kwargs):
        seen.append((tuple(x.shape), x.dtype, torch.is_autocast_enabled('cpu')))
        return real_log_softmax(x, *args, **kwargs)

    bf16_out = []
    hook = model.backbone.transformer.resblocks[0].mlp.c_fc.register_forward_hook(
        lambda m, i, o: bf16_out.append(o.dtype))
    monkeypatch.setattr(F, 'log_softmax', spy)
    with torch.no_grad():
        ref = _losses(model, data, autocast=False)
        seen.clear()
        amp = _losses(model, data, autocast=True)
    hook.remove()

    assert bf16_out == [torch.float32, torch.bfloat16]  # autocast really ran the backbone in bf16
    n, k = len(data['inputs']), model.cls_head.num_classes
    shapes = {s for s, _, _ in seen}
    assert (n, n) in shapes and (n, k) in shapes, shapes  # contrastive and focal logits
    for shape, dtype, _ in seen:
        assert dtype == torch.float32, f'logits {shape} are {dtype} under autocast'
    # the contrastive logits are formed with autocast off (a bf16 matmul would round them)
    assert all(not on for s, _, on in seen if s == (n, n))
    for key in ('loss_cls', 'loss_clip', 'cls_raw', 'clip_raw'):
        assert amp[key].dtype == torch.float32, key
        assert amp[key].item() == pytest.approx(ref[key].item(), rel=0.01), key
    assert amp['clip_raw'].item() != ref['clip_raw'].item()  # bf16 did change something


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_amp_optim_wrapper_needs_cuda_in_mmengine():
    model, _, _ = _model()
    with pytest.raises(AssertionError, match='only available'):
        build_optim_wrapper(model, Config.fromfile(AMP).optim_wrapper)


def test_bf16_wrapper_does_not_scale_the_loss(monkeypatch):
    """mmengine's AmpOptimWrapper always builds a GradScaler; the config builds it disabled (as it
    would be on a GPU machine, where 'dynamic' scaled by 2^16 and skipped overflowing steps), so
    backward and step are those of the float32 OptimWrapper: the same gradients, the same step."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_mod
    monkeypatch.setattr(amp_mod, 'is_cuda_available', lambda: True)
    # GradScaler disables itself without CUDA; pretend it is there, as on the GPU machine
    monkeypatch.setattr(torch.cuda.amp.common, 'amp_definitely_not_available', lambda: False)
    cfg = Config.fromfile(AMP).optim_wrapper
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        models.append(torch.nn.Linear(4, 3))
    amp = build_optim_wrapper(models[0], cfg)
    assert not amp.loss_scaler.is_enabled()
    plain_cfg = cfg.copy()
    for key in ('dtype', 'loss_scale'):
        plain_cfg.pop(key)
    plain_cfg.type = 'OptimWrapper'
    plain = build_optim_wrapper(models[1], plain_cfg)
    x = torch.randn(5, 4)
    for wrapper, model in ((amp, models[0]), (plain, models[1])):
        wrapper.backward((model(x) ** 2).mean() * 1e3)  # large enough to be clipped (20)
    assert torch.equal(models[0].weight.grad, models[1].weight.grad)  # not scaled
    for wrapper in (amp, plain):
        wrapper.step()  # clipping, then AdamW
    assert torch.equal(models[0].weight, models[1].weight)
    assert amp.state_dict()['loss_scaler'] == {}


def test_train_step_through_amp_optim_wrapper(monkeypatch):
    """The config's AmpOptimWrapper (bf16) drives model.train_step as the runner does. On a
    CPU-only machine mmengine refuses to build it, so its device check is patched: then its
    (disabled) GradScaler passes through and optim_context autocasts on the CPU in bf16 - the same
    code path as on a GPU."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_mod
    if not torch.cuda.is_available():
        monkeypatch.setattr(amp_mod, 'is_cuda_available', lambda: True)
    model, frames, size = _model()
    model.train()
    wrapper = build_optim_wrapper(model, Config.fromfile(AMP).optim_wrapper)
    assert type(wrapper).__name__ == 'AmpOptimWrapper' and wrapper.cast_dtype == torch.bfloat16
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16

    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    for step in range(2):
        log_vars = model.train_step(_data(frames, size, seed=step), wrapper)
        assert torch.isfinite(log_vars['loss']) and log_vars['loss'].dtype == torch.float32
    changed = [n for n, p in model.named_parameters() if p.requires_grad
               and not torch.equal(before[n], p.detach())]
    assert any(n.startswith('backbone.') for n in changed)
    assert any(n.startswith('cls_head.') for n in changed)
    assert any(n.startswith('align_head.') for n in changed)
    for p in model.parameters():  # master weights and gradients stay float32
        assert p.dtype == torch.float32
        assert p.grad is None or p.grad.dtype == torch.float32


def _task_configs():
    paths = sorted(glob.glob(osp.join(CONFIGS, '*.py')) +
                   glob.glob(osp.join(CONFIGS, 'baselines', '*.py')))
    return [p for p in paths if 'synthetic' not in p]


@pytest.mark.parametrize('path', _task_configs(), ids=lambda p: osp.basename(p))
def test_real_dataset_configs_train_in_bf16(path):
    cfg = Config.fromfile(path)
    ow = cfg.optim_wrapper
    assert (ow.type, ow.dtype) == ('AmpOptimWrapper', 'bfloat16'), path
    assert ow.loss_scale == dict(enabled=False), path  # bf16: no loss scaling
    assert ow.optimizer.type == 'AdamW' and ow.clip_grad.max_norm == 20  # the paper schedule


@pytest.mark.parametrize('name', [
    'mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py',
    'baselines/linear-head_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py'])
def test_tiny_synthetic_configs_stay_fp32(name):
    assert Config.fromfile(osp.join(CONFIGS, name)).optim_wrapper.type == 'OptimWrapper'


@pytest.mark.slow
def test_paper_size_model_forward_backward_in_cpu_bf16():
    """The paper's model (UniFormerV2-B/16 + emotion head + alignment, as the SAMM 5-class config
    builds it; random weights: the files are not here) takes a training forward/backward step of
    one 16 x 224 x 224 clip under CPU bf16 autocast: finite losses and gradients, float32 master
    gradients. About 30 s and 4 GB on 1 CPU thread. With one clip the contrastive loss is 0 by
    construction (a single pair); its bf16 path is checked on the tiny model above."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py'))
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.clip_pretrained = None
    cfg.model.text_encoder.pretrained = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    assert (cfg.num_frames, cfg.input_size, model.backbone.out_channels) == (16, 224, 768)
    aus = [AUCode(1), AUCode(2), AUCode(4)]
    meta = dict(sample_id='s0', au_prompt=au_prompt(aus, 1), au_key=au_key(aus), onset_index=0)
    samples = [ActionDataSample(metainfo=meta).set_gt_label(2)]
    clip = torch.randn(1, 3, 16, 224, 224, generator=torch.Generator().manual_seed(0))
    bf16 = []
    hook = model.backbone.transformer.resblocks[5].mlp.c_fc.register_forward_hook(
        lambda m, i, o: bf16.append(o.dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(clip, samples, mode='loss')
    hook.remove()
    assert bf16 == [torch.bfloat16]
    for key in ('loss_cls', 'loss_clip', 'cls_raw', 'clip_raw'):
        assert losses[key].dtype == torch.float32 and torch.isfinite(losses[key]), key
    assert losses['cls_raw'] > 0
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and not any(n.startswith('text_encoder.') for n, _ in trainable)
    no_grad = [n for n, p in trainable if p.grad is None]
    assert not no_grad, no_grad[:5]
    bad = [n for n, p in trainable if p.grad.dtype != torch.float32
           or not torch.isfinite(p.grad).all()]
    assert not bad, bad[:5]
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
