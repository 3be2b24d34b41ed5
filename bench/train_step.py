"""Training-step time of MER-CLIP vs the plain UniFormerV2 + linear head, side by side.

In one process, builds from the configs (``MODELS.build(cfg.model)``, data preprocessor included,
random weights) and times ``model.train_step`` (data preprocessing with LocalStaticFaceMix,
forward, loss, backward, AdamW step with the paper's gradient clipping: exactly what the runner
calls) of

  a  MER-CLIP                 (configs/mer-clip_*.py)
  c  MER-CLIP w/o alignment   (the same, ``align_head=None``: Table VIII's no-text ablation)
  b  UniFormerV2 + linear     (configs/baselines/linear-head_*.py)

on the same batch size and input, interleaved (the order alternates every round) so that drift
and the load of a shared machine hit every model alike. a/b is the headline (target <= 1.10);
a/c is the text branch alone, c/b the emotion transformer head alone.

    python bench/train_step.py --size small                        # tiny models, CPU
    python bench/train_step.py --size full --device cuda           # B/16, 16x224x224, batch 8
    python bench/train_step.py --size full --steps 2 --warmup 1 --batch 1   # CPU smoke run

Sizes: ``small`` = the tiny synthetic configs (8 x 32 x 32, batch 8); ``full`` = UniFormerV2-B/16,
the SAMM configs (16 x 224 x 224, batch 8). On CUDA the optimizer wrapper is the bf16
AmpOptimWrapper of configs/_base_/amp_bf16.py (``--amp none`` for fp32); on CPU fp32.

AU prompts are rendered (mer_clip.au.au_prompt) from the AU combinations of the synthetic set's
statistics with the paper's 7 templates; per step a batch draws combinations and templates at
random, as the dataset does. The first step of each model is reported separately (cold; for
MER-CLIP it encodes the batch's prompts); then every prompt is put in the text cache (its one-time
cost is reported) so the timed steps run the cached path, which the script checks.

Reports: median step time and IQR per model, the ratios (of medians, and the median of per-round
ratios), samples/s, peak memory (CUDA: ``max_memory_allocated`` per step; CPU: the peak RSS of
the step, reset per step through /proc/self/clear_refs, minus the RSS before it), FLOPs per step
(``torch.utils.flop_counter.FlopCounterMode`` on one train step: forward + backward, with
corrected formulas for grouped-convolution backward and CPU attention, see ``_flop_formulas``)
and achieved FLOP/s against the measured dense matmul rate of the device (bf16 on CUDA, fp32 on
CPU). ``--json PATH`` writes everything for bench/loso_cost.py (on CUDA also the memory
the models keep between steps and the card's size, for bench/batch_search.py).
"""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import platform
import random
import sys
import time

import numpy as np
import torch

import mer_clip  # noqa: F401  (registers the components; must precede mmaction.models)
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from mer_clip.au.prompts import DEFAULT_TEMPLATE_INDICES, au_key, au_prompt
from mer_clip.datasets.synthetic import load_au_stats

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
CFG = osp.join(CONFIGS, '_base_')
SIZES = {
    # the models of these task configs (with their data preprocessor, LocalStaticFaceMix included)
    'small': dict(mer_clip='mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py',
                  baseline='baselines/linear-head_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py',
                  batch=8, device='cpu', steps=30, warmup=3),
    'full': dict(mer_clip='mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py',
                 baseline='baselines/linear-head_uniformerv2-b16_2xb8-55e_samm-5cls.py', batch=8,
                 device='cuda', steps=30, warmup=5),
}
SCHEDULE = osp.join(CFG, 'schedules', 'adamw_cosine_55e.py')
AMP_BF16 = osp.join(CFG, 'amp_bf16.py')
NAMES = {'a': 'MER-CLIP', 'c': 'MER-CLIP w/o align', 'b': 'UniFormerV2+linear'}


# ------------------------------------------------------------------------------------ building
def _set(cfg, dotted, value):
    keys = dotted.split('.')
    for k in keys[:-1]:
        cfg = cfg[k]
    if keys[-1] not in cfg:
        raise KeyError(f'--set {dotted}: no such key in the MER-CLIP model config')
    cfg[keys[-1]] = value


def model_cfgs(size, overrides=()):
    """{'a', 'b', 'c'} -> model config dicts with random weights; and (T, S) of the input.

    ``overrides``: (dotted key, value) pairs applied to MER-CLIP's model (a and c), e.g.
    ('cls_head.hidden_dim', 32), to measure what a head setting costs."""
    spec = SIZES[size]
    cfg_a = Config.fromfile(osp.join(CONFIGS, spec['mer_clip']))
    cfg_b = Config.fromfile(osp.join(CONFIGS, spec['baseline']))
    for cfg in (cfg_a, cfg_b):
        if cfg.get('custom_imports'):
            import_modules_from_strings(**cfg.custom_imports)
    if (cfg_a.num_frames, cfg_a.input_size) != (cfg_b.num_frames, cfg_b.input_size):
        raise ValueError(f'{spec["mer_clip"]} and {spec["baseline"]} have different inputs')
    out = {}
    for key, cfg in (('a', cfg_a), ('b', cfg_b)):
        model = copy.deepcopy(cfg.model.to_dict())
        model['backbone'].update(pretrained=None, clip_pretrained=None)
        if 'text_encoder' in model:
            model['text_encoder']['pretrained'] = None
        out[key] = model
    for dotted, value in overrides:
        _set(out['a'], dotted, value)
    out['c'] = copy.deepcopy(out['a'])
    out['c']['align_head'] = None
    out['c'].pop('text_encoder')
    return out, cfg_a.num_frames, cfg_a.input_size


def optim_cfg(device, amp):
    """The paper's AdamW wrapper (schedules/adamw_cosine_55e.py), bf16 AMP from amp_bf16.py."""
    path = AMP_BF16 if (device == 'cuda' and amp == 'bf16') else SCHEDULE
    return Config.fromfile(path).optim_wrapper.to_dict()


def prompt_pool(seed=0):
    """All (prompt, au_key, weight) of the synthetic set's AU combinations x the 7 templates."""
    pool = []
    for emotion, combos in load_au_stats().items():
        for codes, p in combos:
            for t in DEFAULT_TEMPLATE_INDICES:
                pool.append((au_prompt(codes, t), au_key(codes), p / len(DEFAULT_TEMPLATE_INDICES)))
    return pool


def make_batch(batch, frames, size, num_classes, pool, rng, pin=False):
    """Packed data as a DataLoader yields it: uint8 (1, 3, T, S, S) clips + data samples."""
    inputs, samples = [], []
    weights = np.array([w for _, _, w in pool])
    picks = rng.choice(len(pool), size=batch, p=weights / weights.sum())
    for i in range(batch):
        clip = torch.from_numpy(rng.integers(0, 256, (1, 3, frames, size, size), dtype=np.uint8))
        inputs.append(clip.pin_memory() if pin else clip)
        text, key, _ = pool[picks[i]]
        meta = dict(sample_id=f'bench{i}', au_prompt=text, au_key=key, onset_index=0)
        samples.append(ActionDataSample(metainfo=meta).set_gt_label(int(rng.integers(num_classes))))
    return dict(inputs=inputs, data_samples=samples)


# ------------------------------------------------------------------------------------ measuring
def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def _peak_rss_bytes():
    """Peak resident set size of this process so far (VmHWM)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    return float('nan')


def _saved_tensor_counter(model, seen):
    """saved_tensors_hooks that record the bytes autograd saves for backward (each storage once,
    parameters not at all): the activation memory, on any device."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)


class Runner:
    """One model + its optimizer wrapper; ``step()`` times one train_step."""

    def __init__(self, key, model_cfg, device, amp):
        self.key, self.device = key, device
        torch.manual_seed(0)
        self.model = MODELS.build(model_cfg)
        self.model.init_weights()
        self.model.to(device).train()
        self.optim = build_optim_wrapper(self.model, optim_cfg(device, amp))
        self.times, self.mem = [], []

    def step(self, data, record=True):
        dev = self.device
        if dev == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        _sync(dev)
        t0 = time.perf_counter()
        log_vars = self.model.train_step(data, self.optim)
        _sync(dev)
        dt = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() if dev == 'cuda' else float('nan')
        if not all(torch.isfinite(v).all() for v in log_vars.values()):
            raise FloatingPointError(f'{NAMES[self.key]}: non-finite loss {log_vars}')
        if record:
            self.times.append(dt)
            self.mem.append(peak)
        return dt

    def state_bytes(self):
        """Parameters + gradients + AdamW moments of the trainable parameters, in bytes."""
        total = sum(p.numel() * p.element_size() for p in self.model.parameters())
        train = sum(p.numel() * p.element_size() for p in self.model.parameters()
                    if p.requires_grad)
        return total + 3 * train


def _flop_formulas():
    """Corrections to FlopCounterMode's formulas (torch 2.x).

    - CPU's fused attention (``_scaled_dot_product_flash_attention_for_cpu`` and its backward) has
      no formula (CUDA's flash / efficient kernels do): the same SDPA formula is used.
    - ``convolution_backward``'s weight-gradient term ignores ``groups``: for the depthwise
      convolutions of UniFormerV2 (local MHRA, DPE: groups = channels) it counts channels x the
      real work (583 instead of ~131 GFLOP for B/16 at batch 1). Here each of grad-input and
      grad-weight costs what the forward convolution costs (non-transposed convolutions).
    """
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten
    mapping = {}
    fwd = getattr(aten, '_scaled_dot_product_flash_attention_for_cpu', None)
    bwd = getattr(aten, '_scaled_dot_product_flash_attention_for_cpu_backward', None)
    if fwd is not None:
        mapping[fwd] = lambda q, k, v, *a, out_shape=None, **kw: fc.sdpa_flop_count(q, k, v)
    if bwd is not None:
        mapping[bwd] = (lambda g, q, k, v, *a, out_shape=None, **kw:
                        fc.sdpa_backward_flop_count(g, q, k, v))

    def conv_backward(grad_out, x, w, bias, stride, padding, dilation, transposed,
                      output_padding, groups, output_mask, out_shape=None, **kw):
        if transposed:
            return fc.conv_backward_flop(grad_out, x, w, bias, stride, padding, dilation,
                                         transposed, output_padding, groups, output_mask,
                                         out_shape)
        forward = fc.conv_flop_count(x, w, grad_out, transposed=False)  # w: (C_out, C_in/g, k)
        return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))

    mapping[aten.convolution_backward] = conv_backward
    return mapping


def measure_step(runner, data, flops=True):
    """FLOPs (forward + backward matmuls, convolutions, attention) and saved-activation bytes of
    one train step.

    FlopCounterMode's per-module attribution is not used: with backward hooks it is unreliable
    for these models; the parts are the differences between the models (a - c = text branch,
    c - b = emotion transformer head).
    """
    from contextlib import nullcontext
    from torch.utils.flop_counter import FlopCounterMode
    counter = (FlopCounterMode(display=False, custom_mapping=_flop_formulas()) if flops
               else nullcontext())
    seen = {}
    with counter, _saved_tensor_counter(runner.model, seen):
        runner.model.train_step(data, runner.optim)
    return (counter.get_total_flops() if flops else None), sum(seen.values())


def matmul_rate(device, dtype, n, seconds=2.0):
    """Measured dense matmul FLOP/s of an n x n x n product (the device's practical peak)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
        if device == 'cuda' and reps % 10:
            continue
        _sync(device)
    _sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def _stats(xs):
    xs = sorted(xs)
    q = np.percentile(xs, [25, 50, 75])
    return dict(median=float(q[1]), q25=float(q[0]), q75=float(q[2]), n=len(xs),
                min=float(xs[0]))


def _fmt_bytes(x):
    return 'n/a' if x != x else f'{x / 2**20:8.1f} MiB'


# ------------------------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', choices=sorted(SIZES), default='small')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cpu for small, cuda for full')
    parser.add_argument('--steps', type=int, default=None, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=None, help='untimed steps per model')
    parser.add_argument('--batch', type=int, default=None)
    parser.add_argument('--models', default='a,c,b',
                        help='which of a (MER-CLIP), c (w/o alignment), b (baseline)')
    parser.add_argument('--amp', choices=['bf16', 'none'], default='bf16',
                        help='CUDA only: bf16 AmpOptimWrapper (configs/_base_/amp_bf16.py)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads (torch.set_num_threads); default: torch default')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument('--matmul-seconds', type=float, default=2.0,
                        help='how long the dense matmul rate is measured (a smoke run: less)')
    parser.add_argument('--profile', action='store_true',
                        help='torch.profiler table of one step per model (self time per op)')
    parser.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override MER-CLIP model settings, e.g. cls_head.dropout=0.0')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', default=None, help='write the results here')
    args = parser.parse_args(argv)

    spec = SIZES[args.size]
    device = args.device or spec['device']
    if device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda but torch.cuda.is_available() is False')
    steps = args.steps if args.steps is not None else spec['steps']
    warmup = args.warmup if args.warmup is not None else spec['warmup']
    batch = args.batch or spec['batch']
    keys = [k for k in args.models.split(',') if k]
    if not set(keys) <= set(NAMES) or 'a' not in keys or 'b' not in keys:
        parser.error('--models must list a and b (and optionally c)')
    if args.threads:
        torch.set_num_threads(args.threads)
    amp = args.amp if device == 'cuda' else 'none'
    init_default_scope('mmaction')
    for name in ('mmengine', 'train_step_bench'):  # no init / paramwise / drop-path logs
        MMLogger.get_instance(name).setLevel(logging.ERROR)
    random.seed(args.seed)
    np.random.seed(args.seed)  # LocalStaticFaceMix draws from numpy / torch
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    load0 = os.getloadavg()
    import ast
    overrides = []
    for item in args.set:
        key, _, value = item.partition('=')
        overrides.append((key, ast.literal_eval(value)))
    cfgs, frames, size = model_cfgs(args.size, overrides)
    if overrides:
        print('# MER-CLIP overrides: ' + ', '.join(f'{k}={v!r}' for k, v in overrides))
    num_classes = cfgs['a']['cls_head']['num_classes']
    pool = prompt_pool()
    unique = sorted({t for t, _, _ in pool})
    print(f'# bench/train_step.py --size {args.size}: {device}, batch {batch}, input '
          f'{frames}x{size}x{size}, {"bf16 AMP" if amp == "bf16" else "fp32"}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}, '
          f'{platform.processor() or platform.machine()}')
    if device == 'cuda':
        print(f'# GPU: {torch.cuda.get_device_name()}')
    print(f'# {len(unique)} distinct AU prompts ({len({k for _, k, _ in pool})} AU combinations '
          f'x {len(DEFAULT_TEMPLATE_INDICES)} templates); load average {load0[0]:.2f} on '
          f'{os.cpu_count()} CPUs')

    t0 = time.perf_counter()
    runners = {k: Runner(k, cfgs[k], device, amp) for k in keys}
    print(f'# built {len(runners)} models in {time.perf_counter() - t0:.1f} s: ' + ', '.join(
        f'{NAMES[k]} {sum(p.numel() for p in r.model.parameters()) / 1e6:.2f}M params '
        f'({sum(p.numel() for p in r.model.parameters() if p.requires_grad) / 1e6:.2f}M trained)'
        for k, r in runners.items()))

    def batch_data():
        return make_batch(batch, frames, size, num_classes, pool, rng, pin=device == 'cuda')

    # cold first step: for MER-CLIP it encodes the batch's prompts (cache misses)
    first = {}
    data = batch_data()
    for k, r in runners.items():
        first[k] = r.step(data, record=False)
    text_enc = runners['a'].model.text_encoder
    t0 = time.perf_counter()
    n_new = text_enc.precompute(unique)
    _sync(device)
    fill = time.perf_counter() - t0
    print('# first step (cold): ' + ', '.join(f'{NAMES[k]} {first[k] * 1e3:.1f} ms'
                                               for k in runners))
    print(f'# text cache: {n_new} more prompts encoded in {fill:.3f} s (once per run); '
          f'{text_enc.cache_size} cached')

    # warm-up; its last step (or one extra) also counts FLOPs and saved activations
    measured = {}
    for i in range(max(warmup, 1)):
        data = batch_data()
        for k, r in runners.items():
            if i == max(warmup, 1) - 1:
                measured[k] = measure_step(r, data, flops=not args.no_flops)
            else:
                r.step(data, record=False)
    cache_before = text_enc.cache_size
    rounds = []
    order = list(runners)
    for i in range(steps):
        data = batch_data()
        seq = order if i % 2 == 0 else order[::-1]
        rounds.append({k: runners[k].step(data) for k in seq})
    if text_enc.cache_size != cache_before:
        raise RuntimeError('the text cache grew during the timed steps: the uncached path was '
                           'timed')
    load1 = os.getloadavg()
    # CUDA: what every model keeps between steps (weights, AdamW moments; gradients are freed)
    # and the card's size, for extrapolating the batch that fits (bench/batch_search.py)
    resident = torch.cuda.memory_allocated() if device == 'cuda' else None
    total_mem = torch.cuda.get_device_properties(0).total_memory if device == 'cuda' else None

    res = dict(peak_rss_bytes=_peak_rss_bytes(), size=args.size, overrides=args.set, device=device,
               device_name=torch.cuda.get_device_name() if device == 'cuda' else
               (platform.processor() or platform.machine()),
               batch=batch, frames=frames, input_size=size, amp=amp, steps=steps, warmup=warmup,
               threads=torch.get_num_threads(), torch=torch.__version__,
               load_avg_before=load0, load_avg_after=load1, text_cache_prompts=len(unique),
               text_cache_fill_s=fill, resident_bytes=resident, device_memory_bytes=total_mem,
               models={})
    for k, r in runners.items():
        st = _stats(r.times)
        res['models'][k] = dict(name=NAMES[k], step_time_s=st, first_step_s=first[k],
                                samples_per_s=batch / st['median'],
                                peak_mem_bytes=max(r.mem),
                                activation_bytes=measured[k][1],
                                state_bytes=r.state_bytes(),
                                params=sum(p.numel() for p in r.model.parameters()))
    med = {k: res['models'][k]['step_time_s']['median'] for k in runners}
    paired = {}
    for num, den in (('a', 'b'), ('a', 'c'), ('c', 'b')):
        if num in runners and den in runners:
            per_round = [r[num] / r[den] for r in rounds]
            paired[f'{num}/{den}'] = dict(ratio_of_medians=med[num] / med[den],
                                          **_stats(per_round))
    res['ratios'] = paired

    if not args.no_flops:
        for k in runners:
            res['models'][k]['flops_per_step'] = measured[k][0]
        dtype = torch.bfloat16 if device == 'cuda' else torch.float32
        n = 8192 if device == 'cuda' else 1024
        rate = matmul_rate(device, dtype, n, seconds=args.matmul_seconds)
        res['matmul_rate'] = dict(flops_per_s=rate, dtype=str(dtype).replace('torch.', ''), n=n)
        for k in runners:
            m = res['models'][k]
            m['achieved_flops_per_s'] = m['flops_per_step'] / m['step_time_s']['median']
            m['fraction_of_matmul_rate'] = m['achieved_flops_per_s'] / rate

    # ------------------------------------------------------------------ report
    print(f'\n{steps} timed steps per model after {warmup} warm-up steps, interleaved; load '
          f'average {load0[0]:.2f} -> {load1[0]:.2f} on {os.cpu_count()} CPUs\n')
    head = (f'{"model":<20} {"median ms":>10} {"IQR ms":>17} {"samples/s":>10} '
            f'{"peak alloc":>13} {"activations":>13} {"params+grads+Adam":>18}')
    if not args.no_flops:
        head += f' {"GFLOP/step":>11} {"TFLOP/s":>8} {"of matmul":>9}'
    print(head)
    for k in runners:
        m = res['models'][k]
        st = m['step_time_s']
        line = (f'{NAMES[k]:<20} {st["median"] * 1e3:10.2f} '
                f'{st["q25"] * 1e3:8.2f}-{st["q75"] * 1e3:8.2f} {m["samples_per_s"]:10.1f} '
                f'{_fmt_bytes(m["peak_mem_bytes"]):>13} {_fmt_bytes(m["activation_bytes"]):>13} '
                f'{_fmt_bytes(m["state_bytes"]):>18}')
        if not args.no_flops:
            line += (f' {m["flops_per_step"] / 1e9:11.3f} {m["achieved_flops_per_s"] / 1e12:8.3f}'
                     f' {100 * m["fraction_of_matmul_rate"]:8.1f}%')
        print(line)
    if device == 'cpu':
        print(f'(CPU: no per-model peak; the process peak RSS with all models built is '
              f'{res["peak_rss_bytes"] / 2**20:.0f} MiB. "activations" = tensors saved for '
              'backward.)')
    if not args.no_flops:
        r = res['matmul_rate']
        print(f'\nmeasured {r["dtype"]} matmul rate ({r["n"]}^3): {r["flops_per_s"] / 1e12:.3f} '
              'TFLOP/s')
        fl = {k: res['models'][k]['flops_per_step'] for k in runners}
        parts = ''
        if 'c' in fl:
            text, head = fl['a'] - fl['c'], fl['c'] - fl['b']
            parts = (f'; text branch (a - c) {text:.3g} = {100 * text / fl["b"]:.2f}% of the '
                     f'baseline, emotion transformer head (c - b) {head:.3g} = '
                     f'{100 * head / fl["b"]:.1f}%')
        print(f'FLOPs per step: MER-CLIP / baseline {fl["a"] / fl["b"]:.3f}{parts}')
    print()
    for name, r in paired.items():
        num, den = name.split('/')
        print(f'ratio {NAMES[num]} / {NAMES[den]}: {r["ratio_of_medians"]:.3f} (of medians); '
              f'per-round median {r["median"]:.3f}, IQR {r["q25"]:.3f}-{r["q75"]:.3f}')
    ab = paired['a/b']['ratio_of_medians']
    verdict = 'meets' if ab <= 1.10 else 'MISSES'
    print(f'\nMER-CLIP / baseline step time = {ab:.3f}: {verdict} the target <= 1.10')

    if args.profile:
        profile(runners, batch_data, device)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'wrote {args.json}')
    return res


def profile(runners, batch_data, device, steps=3):
    """Self time per op and time per top-level module of a few steps of each model."""
    from torch.profiler import ProfilerActivity, profile as tprofile, record_function
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == 'cuda' else [])
    for k, r in runners.items():
        handles = []
        for name, mod in r.model.named_children():
            if name == 'data_preprocessor':
                continue
            ctx = {}

            def pre(m, a, name=name, ctx=ctx):
                ctx['rf'] = record_function(f'## {name}.forward')
                ctx['rf'].__enter__()

            def post(m, a, o, ctx=ctx):
                ctx['rf'].__exit__(None, None, None)

            handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
        with tprofile(activities=acts) as prof:
            for _ in range(steps):
                r.step(batch_data(), record=False)
        for h in handles:
            h.remove()
        sort = 'self_device_time_total' if device == 'cuda' else 'self_cpu_time_total'
        print(f'\n=== profile of {NAMES[k]} ({steps} steps)')
        events = prof.key_averages()
        scopes = [e for e in events if e.key.startswith('## ')]
        for e in sorted(scopes, key=lambda e: -e.cpu_time_total):
            print(f'  {e.key[3:]:<28} {e.cpu_time_total / 1e3 / steps:9.2f} ms/step (forward)')
        print(events.table(sort_by=sort, row_limit=15))


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
