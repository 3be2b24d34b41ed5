"""A fold's optimisation as its per-fold run has it: parameter groups and the lr of every step.

The per-fold run builds its optimizer with mmengine's constructor (``paramwise_cfg``: no weight
decay on norms and biases) and steps its schedulers (warm-up, cosine; converted to steps with the
fold's own ``len(train_dataloader)``) after every step or epoch. Here the same mmengine classes are
built on the fold's model and stepped through the fold's whole training once, up front: the result
is the lr and weight decay of every parameter at every step, which the stacked optimizer reads.
"""
import copy
from dataclasses import dataclass
from typing import Dict, List

from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from torch import nn


@dataclass
class FoldSchedule:
    """``lr[step][name]``: the lr of parameter ``name`` at the fold's ``step`` (0-based, over its
    whole training); ``weight_decay[name]``, ``betas``, ``eps``: the AdamW settings."""
    lr: List[Dict[str, float]]
    weight_decay: Dict[str, float]
    betas: tuple
    eps: float
    optimizer: str


def fold_schedule(model: nn.Module, cfg, steps_per_epoch: int, max_epochs: int) -> FoldSchedule:
    """Build the fold's optimizer and schedulers (mmengine) and record every step's lr."""
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    opt = wrapper.optimizer
    kind = type(opt).__name__
    if kind not in ('AdamW', 'Adam'):
        raise ValueError(f'--fold-mode batched implements AdamW / Adam only, the config uses '
                         f'{kind}; use --fold-mode inprocess')
    if wrapper.__class__.__name__ != 'OptimWrapper' or (cfg.optim_wrapper.get('clip_grad')
                                                         or cfg.optim_wrapper.get(
                                                             'accumulative_counts', 1) != 1):
        raise ValueError('--fold-mode batched implements a plain OptimWrapper (no AMP, gradient '
                         'clipping or accumulation); use --fold-mode inprocess')
    names = {id(p): n for n, p in model.named_parameters()}
    schedulers = []
    for sc in (cfg.get('param_scheduler') or []):
        sc = copy.deepcopy(dict(sc))
        sc.setdefault('end', max_epochs if sc.get('by_epoch', True) else
                      max_epochs * steps_per_epoch)
        schedulers.append(PARAM_SCHEDULERS.build(
            sc, default_args=dict(optimizer=wrapper, epoch_length=steps_per_epoch)))
    lrs, group0 = [], opt.param_groups[0]
    for _epoch in range(max_epochs):
        for _step in range(steps_per_epoch):
            lrs.append({names[id(p)]: g['lr'] for g in opt.param_groups for p in g['params']})
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    decay = {names[id(p)]: g.get('weight_decay', 0.0) for g in opt.param_groups
             for p in g['params']}
    return FoldSchedule(lr=lrs, weight_decay=decay, betas=tuple(group0['betas']),
                        eps=group0['eps'], optimizer=kind)
