"""Training one model from a config, as a library call.

:func:`train` is what ``tools/train.py`` (and every LOSO fold, :mod:`mer_clip.loso.fold_steps`)
runs: mmengine's Runner on a config prepared by :func:`apply_train_options`, the options a user
gives ``tools/train.py`` (resume, AMP, validation, lr scaling, seed).
"""
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..engine.hooks.checkpoint_contents_hook import (ALLOW_PARTIAL_LOAD,
                                                    with_checkpoint_contents_hook)
from ..engine.resume import repair_resume_point


def apply_train_options(cfg, *, resume: Optional[str] = None, amp: bool = False,
                        no_amp: bool = False, validate: bool = True,
                        auto_scale_lr: bool = False, seed: Optional[int] = None,
                        deterministic: bool = False, allow_partial_load: bool = False):
    """The training options applied to ``cfg``: ``resume='auto'`` continues from the checkpoint
    that ``work_dir/last_checkpoint`` names, a path resumes from that file; AMP on or off (off
    automatically without CUDA, where mmengine cannot run AmpOptimWrapper); validation; lr scaling;
    the seed and CUDNN determinism; ``allow_partial_load``: a ``load_from`` / resume checkpoint
    may leave model tensors at their initialisation (refused otherwise, mer_clip.engine.
    checkpoint_fit)."""
    if not validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if no_amp or (cfg.optim_wrapper.get('type') == 'AmpOptimWrapper'
                  and not torch.cuda.is_available()):
        disable_amp(cfg, reason='--no-amp' if no_amp else 'no CUDA device')
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if allow_partial_load:
        cfg[ALLOW_PARTIAL_LOAD] = True
    if auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if seed is not None or deterministic:
        cfg.setdefault('randomness', dict())
        if seed is not None:
            cfg.randomness.seed = seed
        cfg.randomness.deterministic = deterministic
    return cfg


def disable_amp(cfg, reason: str) -> None:
    """Switch an AmpOptimWrapper config to the float32 OptimWrapper (drops dtype / loss_scale)."""
    if cfg.optim_wrapper.get('type') != 'AmpOptimWrapper':
        return
    cfg.optim_wrapper.type = 'OptimWrapper'
    for key in ('dtype', 'loss_scale'):
        cfg.optim_wrapper.pop(key, None)
    print_log(f'Mixed precision disabled ({reason}): training in float32.', logger='current',
              level=logging.WARNING)


def repair_auto_resume(cfg) -> Optional[str]:
    """Before an automatic resume, make ``last_checkpoint`` name a complete checkpoint
    (:func:`~mer_clip.engine.resume.repair_resume_point`; one process does it: rank 0, or the
    only one). Returns what was repaired, if anything."""
    if not (cfg.get('resume') and cfg.get('load_from') is None):
        return None
    if os.environ.get('RANK', '0') != '0' or not osp.isdir(cfg.work_dir):
        return None
    note = repair_resume_point(cfg.work_dir)
    if note:
        print_log(f'resume: {note}', logger='current', level=logging.WARNING)
    return note


def train(cfg) -> Optional[str]:
    """Train ``cfg`` with mmengine's Runner (an automatic resume repaired first); returns the
    checkpoint that ``work_dir/last_checkpoint`` names at the end (None if none was saved).
    Checkpoints are saved and loaded through :class:`~mer_clip.engine.hooks.
    CheckpointContentsHook` (added when the config lacks it)."""
    repair_auto_resume(cfg)
    runner = Runner.from_cfg(with_checkpoint_contents_hook(cfg))
    runner.train()
    last = osp.join(cfg.work_dir, 'last_checkpoint')
    if not osp.exists(last):
        return None
    with open(last) as f:
        return f.read().strip() or None


__all__ = ['apply_train_options', 'disable_amp', 'repair_auto_resume', 'train']
