"""Disk peak of a LOSO's checkpoints: measured on the tiny config, scaled to the B/16 model.

Method (printed with the table by ``bench/loso_cost.py --disk``):

1. **Measured.** The tiny config trains 2 epochs (2 clips, batch 2) through the real code path
   (mmengine's Runner with :class:`~mer_clip.engine.hooks.CheckpointContentsHook`, its text tower
   loaded from a weight file, ``final_checkpoint_weights_only=True`` as every LOSO fold trains):
   ``epoch_1.pth`` is a resume checkpoint (weights without the frozen text tower + optimizer),
   ``epoch_2.pth`` the fold's final weights-only one. The same runner then saves the old layout
   (text tower and optimizer in every checkpoint) beside the new ones, timed side by side.
2. **Scaled.** Each part's tensor bytes scale with its parameter count: the weights without the
   text tower with the model's other tensors, the text tower with its own, the optimizer state
   with the trainable parameters; the rest of a file (meta, message hub, RNG states) is added as
   measured. The B/16 counts come from the B/16 config's model (built, no weights read).
3. **Peak of a LOSO** of F folds run one at a time (the paper's setup: one fold on 1 or 2 GPUs):
   the F - 1 finished folds' kept checkpoints, plus the running fold's two resume checkpoints
   (``max_keep_ckpts=2``: the previous epoch's, and the one being written).
"""
import os
import os.path as osp
import tempfile
import time
from typing import Dict

import torch

#: the method, as ``bench/loso_cost.py --disk`` prints it above its table
METHOD = (
    'measured: the tiny config trains 2 epochs through the real save path (Runner + '
    'CheckpointContentsHook, text tower from a file, final_checkpoint_weights_only=True as in a '
    'LOSO fold); epoch_1.pth = resume checkpoint, epoch_2.pth = final weights-only one',
    'scaled: tensor bytes of each part x (B/16 count / tiny count): weights without the text '
    'tower by the other state tensors, the text tower by its own, the optimizer state by the '
    'trainable parameters; meta / message hub / RNG bytes added as measured',
    'peak of a LOSO of F folds, one at a time: (F - 1) finished folds\' kept checkpoints + the '
    'running fold\'s 2 resume checkpoints (max_keep_ckpts=2: the previous epoch\'s and the one '
    'being written); before: a full checkpoint (text tower + optimizer) each')
GiB = 1024 ** 3
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'configs', 'mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py')
B16_CONFIG = osp.join(ROOT, 'configs', 'mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py')
TEXT_PREFIX = 'text_encoder.text.'


def parameter_counts(model: torch.nn.Module) -> Dict[str, int]:
    """Elements of the state dict: ``nontext`` (all but the text tower), ``text``, and the
    ``trainable`` parameters (what the optimizer keeps state for)."""
    state = model.state_dict()
    text = sum(v.numel() for k, v in state.items() if k.startswith(TEXT_PREFIX))
    return dict(nontext=sum(v.numel() for v in state.values()) - text, text=text,
                trainable=sum(p.numel() for p in model.parameters() if p.requires_grad))


def b16_counts(config: str = B16_CONFIG) -> Dict[str, int]:
    """:func:`parameter_counts` of a config's model, built on the CPU (no weight file is read:
    ``init_weights`` is not called; mmaction's UniFormerV2 cannot be built on the meta device)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(Config.fromfile(config).model)
    return parameter_counts(model)


def _tensor_bytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def _save_timed(runner, out_dir: str, name: str, text_by_file: bool, final_only: bool) -> float:
    """Seconds of one ``runner.save_checkpoint`` in a layout: the frozen text tower recorded by
    its file (new) or saved (old); the last checkpoint weights-only (new) or with optimizer."""
    encoder = runner.model.text_encoder
    record = encoder.weights_file
    if not text_by_file:
        encoder.weights_file = None  # what the hook strips: nothing (the old layout)
    runner.cfg.final_checkpoint_weights_only = final_only
    try:
        t0 = time.perf_counter()
        runner.save_checkpoint(out_dir, name)
        return time.perf_counter() - t0
    finally:
        encoder.weights_file = record


def _write_seconds(checkpoints: list, names: list, out: str, repeats: int) -> dict:
    """Seconds of :func:`mer_clip.checkpoint.save_checkpoint` alone (serialise, write, sha256:
    the part of a save that grows with the bytes) of each checkpoint, interleaved."""
    from mer_clip.checkpoint import save_checkpoint
    times = {name: [] for name in names}
    for i in range(repeats):
        for name, ckpt in zip(names, checkpoints):
            t0 = time.perf_counter()
            save_checkpoint(ckpt, osp.join(out, f'w{i}_{name[:3]}.pth'))
            times[name].append(time.perf_counter() - t0)
    return {k: sorted(v) for k, v in times.items()}


def measure_tiny(work_dir: str, repeats: int = 5) -> dict:
    """Sizes (bytes) of the tiny config's checkpoints by part and save times of both layouts
    (see the module docstring)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mer_clip.apis.config import load_config
    from mer_clip.checkpoint import read_checkpoint
    from mer_clip.datasets.synthetic import make_synthetic_dataset
    from mer_clip.engine.hooks import with_checkpoint_contents_hook
    from mmaction.registry import MODELS

    data = osp.join(work_dir, 'data')
    make_synthetic_dataset(data, num_subjects=2, clips_per_subject=2, size=32, seed=0)
    tower_file = osp.join(work_dir, 'text_tower.pth')
    opts = [f'{loader}.dataset.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                                     'test_dataloader')
            for key in (f'ann_file={data}/annotations.json', f'data_prefix.img={data}/frames')]
    cfg = load_config(TINY_CONFIG, opts + [
        'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.indices=2', f'model.text_encoder.pretrained={tower_file}',
        'final_checkpoint_weights_only=True', 'log_level=ERROR'], loso_subject='s01')
    with DefaultScope.overwrite_default_scope('mmaction'):
        text = MODELS.build(cfg.model).text_encoder.text
    torch.save({f'text.{k}': v for k, v in text.state_dict().items()}, tower_file)
    cfg.work_dir = osp.join(work_dir, 'fold')
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    runner = Runner.from_cfg(with_checkpoint_contents_hook(cfg))
    runner.train()
    resume_file, final_file = (osp.join(cfg.work_dir, f'epoch_{e}.pth') for e in (1, 2))
    resume, final = read_checkpoint(resume_file), read_checkpoint(final_file)
    counts = parameter_counts(runner.model)
    weights = _tensor_bytes(final['state_dict'])
    optimizer = _tensor_bytes(resume.get('optimizer')) + _tensor_bytes(
        resume.get('param_schedulers'))
    sizes = dict(resume=osp.getsize(resume_file), final=osp.getsize(final_file))
    times = {'old (text tower + optimizer)': [], 'new resume (optimizer)': [],
             'new final (weights only)': []}
    layouts = list(zip(times, [(False, False), (True, False), (True, True)]))
    out = osp.join(work_dir, 'timed')
    os.makedirs(out)
    for i in range(repeats):  # interleaved, so that the machine's load hits every layout alike
        for name, (by_file, final_only) in layouts:
            times[name].append(_save_timed(runner, out, f'{i}_{name[:3]}.pth', by_file,
                                           final_only))
    old_size = osp.getsize(osp.join(out, f'0_{layouts[0][0][:3]}.pth'))
    write = _write_seconds([read_checkpoint(osp.join(out, f'0_{name[:3]}.pth'))
                            for name in times], list(times), out, repeats)
    return dict(counts=counts, sizes=dict(sizes, old=old_size), weights_tensor_bytes=weights,
                optimizer_tensor_bytes=optimizer, overhead=sizes['final'] - weights,
                text_tensor_bytes=sum(v.numel() * v.element_size() for v in text.parameters()),
                save_seconds={k: sorted(v) for k, v in times.items()}, write_seconds=write)


def scaled_sizes(tiny: dict, target: Dict[str, int]) -> Dict[str, float]:
    """Bytes of the target model's checkpoints: ``final`` (weights-only, no text tower),
    ``resume`` (+ optimizer) and ``old`` (+ text tower: every checkpoint before this change)."""
    c = tiny['counts']
    weights = tiny['weights_tensor_bytes'] * target['nontext'] / c['nontext']
    optimizer = tiny['optimizer_tensor_bytes'] * target['trainable'] / c['trainable']
    text = tiny['text_tensor_bytes'] * target['text'] / c['text']
    final = weights + tiny['overhead']
    return dict(final=final, resume=final + optimizer, old=final + optimizer + text,
                weights=weights, optimizer=optimizer, text=text)


def loso_peak(folds: int, sizes: Dict[str, float], keep: str = 'tested') -> float:
    """Bytes on disk at the worst moment of a LOSO of ``folds`` folds run one at a time."""
    running = 2 * sizes['resume']
    kept = {'tested': sizes['final'], 'none': 0.0, 'old': sizes['old']}[keep]
    if keep == 'old':
        running = 2 * sizes['old']
    return (folds - 1) * kept + running


def measure(repeats: int = 5) -> dict:
    """The tiny measurement and the B/16 scaling, in one dict."""
    with tempfile.TemporaryDirectory() as tmp:
        tiny = measure_tiny(tmp, repeats)
    target = b16_counts()
    return dict(tiny=tiny, b16_counts=target, b16=scaled_sizes(tiny, target))


__all__ = ['b16_counts', 'loso_peak', 'measure', 'measure_tiny', 'parameter_counts',
           'scaled_sizes']
