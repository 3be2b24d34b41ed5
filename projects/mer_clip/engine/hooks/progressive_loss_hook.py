"""Progressive training (paper Eq. 14-15): the contrastive weight falls per epoch, the
classification weight rises, their sum stays constant.

Formula (epoch e counted from 0, as ``runner.epoch``)::

    w_clip(e) = max(end, start - (start - end) * e / decay_epochs)
    w_cls(e)  = total - w_clip(e)

with ``decay_epochs = num_epochs - 1`` by default, so w_clip goes linearly from ``start`` at the
first epoch to the floor ``end`` at the last one (and stays there if training runs longer). Defaults
start=1.0, end=0.5, total=1.0 are the authors' config normalised (clip weight 2.0 -> 1.0 of a total
2.0: the floor is "balance", half and half). The authors' code divides by ``num_epochs`` instead of
``num_epochs - 1`` (their last epoch gets 1.0 - 0.5 * 54/55 = 0.509, the floor is never reached);
``decay_epochs=num_epochs`` reproduces it exactly.

The weight is a function of ``runner.epoch`` only (no hook state), so a run resumed at epoch k uses
the same weights as an uninterrupted run.
"""
from typing import Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


def progressive_weights(epoch: int,
                        num_epochs: int,
                        start: float = 1.0,
                        end: float = 0.5,
                        total: float = 1.0,
                        decay_epochs: Optional[float] = None) -> Tuple[float, float]:
    """``(w_clip, w_cls)`` of an epoch (0-based); see the module docstring for the formula."""
    if epoch < 0:
        raise ValueError(f'epoch must be >= 0, got {epoch}')
    if num_epochs < 1:
        raise ValueError(f'num_epochs must be >= 1, got {num_epochs}')
    if not 0 <= end <= start <= total:
        raise ValueError(f'need 0 <= end <= start <= total, got end={end}, start={start}, '
                         f'total={total}')
    span = num_epochs - 1 if decay_epochs is None else decay_epochs
    if span < 0:
        raise ValueError(f'decay_epochs must be >= 0, got {decay_epochs}')
    if span == 0:  # a single epoch (or no decay window): the start weight
        w_clip = float(start) if epoch == 0 else float(end)
    else:
        w_clip = max(float(end), start - (start - end) * epoch / span)
    return w_clip, float(total) - w_clip


@HOOKS.register_module()
class ProgressiveLossHook(Hook):
    """Sets ``model.set_loss_weights(clip=w_clip, cls=w_cls)`` before every training epoch.

    Args:
        start: contrastive weight of the first epoch.
        end: floor of the contrastive weight.
        total: w_clip + w_cls.
        num_epochs: length of the schedule; default ``runner.max_epochs``.
        decay_epochs: epochs from ``start`` to ``end``; default ``num_epochs - 1``
            (``num_epochs`` reproduces the authors' code).

    Both weights are logged each epoch (logger, and the message hub as ``train/progressive_w_clip``
    / ``train/progressive_w_cls``, which the log processor prints with every training log line).
    """

    priority = 'NORMAL'

    def __init__(self,
                 start: float = 1.0,
                 end: float = 0.5,
                 total: float = 1.0,
                 num_epochs: Optional[int] = None,
                 decay_epochs: Optional[float] = None) -> None:
        # validate once at build time (epoch 0 of a 1-epoch schedule checks the ranges)
        progressive_weights(0, num_epochs or 1, start, end, total, decay_epochs)
        self.start, self.end, self.total = start, end, total
        self.num_epochs = num_epochs
        self.decay_epochs = decay_epochs

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not callable(getattr(model, 'set_loss_weights', None)):
            raise AttributeError(
                f'ProgressiveLossHook needs a model with set_loss_weights(clip=..., cls=...) such '
                f'as MERCLIP; {type(model).__name__} has none. Remove the hook from custom_hooks '
                f'for models without a contrastive loss.')
        return model

    def _num_epochs(self, runner) -> int:
        if self.num_epochs is not None:
            return self.num_epochs
        max_epochs = getattr(runner, 'max_epochs', None)
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError('ProgressiveLossHook: runner.max_epochs is not available (an '
                             'iteration-based loop?); set num_epochs explicitly')
        return max_epochs

    def weights(self, runner) -> Tuple[float, float]:
        return progressive_weights(runner.epoch, self._num_epochs(runner), self.start, self.end,
                                   self.total, self.decay_epochs)

    def before_train(self, runner) -> None:
        self._model(runner)  # fail before the first epoch, not after it

    def before_train_epoch(self, runner) -> None:
        w_clip, w_cls = self.weights(runner)
        self._model(runner).set_loss_weights(clip=w_clip, cls=w_cls)
        runner.message_hub.update_scalar('train/progressive_w_clip', w_clip)
        runner.message_hub.update_scalar('train/progressive_w_cls', w_cls)
        runner.logger.info(f'ProgressiveLossHook: epoch {runner.epoch + 1}: '
                           f'w_clip={w_clip:.4f}, w_cls={w_cls:.4f}')
