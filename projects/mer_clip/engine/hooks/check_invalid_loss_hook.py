"""CheckInvalidLossHook: training stops at the first iteration whose loss is not finite.

A diverged run (a learning rate far too large, an fp16 overflow) goes on with NaN weights:
mmengine logs ``loss: nan`` and keeps training, the test then scores every sample ``nan`` and
``argmax`` turns that into class 0 for all, which pools into plausible-looking numbers. This hook
(after mmdet's hook of the same name, written anew) checks every loss term of every training
iteration and raises :class:`NonFiniteLossError`, one line naming the epoch, the iteration, the
term and the options to look at.

Every iteration, at no extra cost that matters: ``RuntimeInfoHook`` (priority VERY_HIGH, before
this hook) already copies each term to the host with ``.item()`` every iteration, which waits for
the device; the check here runs on the same, already computed tensors, so it is one tiny
reduction on an idle device, not another stall of the pipeline. Checking less often would let
NaN weights be saved, validated or averaged (EMA) in between.
"""
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmengine.runner import IterBasedTrainLoop
from mmaction.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite (a user error: the message says what to change)."""


def non_finite_terms(outputs: Optional[Dict]) -> Dict[str, float]:
    """The loss terms (keys with ``loss``) of a train step's outputs that are not finite."""
    terms = {k: v for k, v in (outputs or {}).items() if 'loss' in k}
    tensors = {k: v for k, v in terms.items() if isinstance(v, torch.Tensor)}
    bad = {k: float(v) for k, v in terms.items()
           if not isinstance(v, torch.Tensor) and not math.isfinite(float(v))}
    if tensors:
        finite = torch.stack([torch.isfinite(v.detach()).all() for v in tensors.values()])
        if not bool(finite.all()):  # the one sync; the host has read these values already
            bad.update({k: float(v.detach().float().mean()) for k, v in tensors.items()
                        if not bool(torch.isfinite(v.detach()).all())})
    return {k: bad[k] for k in terms if k in bad}  # in the order of the outputs


def _learning_rate(runner) -> str:
    try:
        lrs = [lr for group in runner.optim_wrapper.get_lr().values() for lr in group]
    except (AttributeError, TypeError, ValueError):
        return ''
    return f', now {max(lrs):g}' if lrs else ''


def _amp_note(runner) -> str:
    wrapper = getattr(runner, 'optim_wrapper', None)
    wrappers = (wrapper.optim_wrappers.values() if isinstance(wrapper, OptimWrapperDict)
                else [wrapper])
    amp = [w for w in wrappers if isinstance(w, AmpOptimWrapper)]
    if not amp:
        return ''
    dtype = amp[0].cast_dtype
    dtype = 'float16' if dtype is None else str(dtype).replace('torch.', '')
    return (f', or train without AMP (AmpOptimWrapper, {dtype}: tools/train.py --no-amp, or '
            "optim_wrapper.type='OptimWrapper')")


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Raises :class:`NonFiniteLossError` after a training iteration whose loss (any term of the
    train step's outputs) is NaN or infinite; see the module docstring for the cost."""

    priority = 'LOW'  # after LoggerHook (the nan line is logged), before CheckpointHook

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        bad = non_finite_terms(outputs)
        if not bad:
            return
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            where = f'iteration {runner.iter + 1}'
        else:
            loader = getattr(runner.train_loop, 'dataloader', None)
            total = f' of {len(loader)}' if loader is not None else ''
            where = f'epoch {runner.epoch + 1}, iteration {batch_idx + 1}{total}'
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        raise NonFiniteLossError(
            f'training diverged at {where}: the loss is not finite ({terms}); lower the learning '
            f'rate (optim_wrapper.optimizer.lr{_learning_rate(runner)}){_amp_note(runner)} and '
            'train again')
