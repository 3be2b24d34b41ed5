"""CheckpointContentsHook: what a checkpoint holds, and that loading one fills the model.

Saving (``before_save_checkpoint``):

- the frozen text tower is recorded by its weight file and sha256 instead of being saved
  (:mod:`mer_clip.engine.frozen_text_tower`);
- with ``final_checkpoint_weights_only=True`` in the config (every LOSO fold's training sets it),
  the checkpoint of the last epoch (iteration) keeps no optimizer or scheduler state: nothing
  trains on from it, it is what the fold is tested on and keeps. The checkpoints before it, from
  which a killed fold resumes, keep them.

Loading (``after_load_checkpoint``: ``load_from``, ``--resume``, ``tools/test.py``, LOSO folds):
the recorded text tower is loaded again from its file, then the checkpoint must fill every model
tensor (:mod:`mer_clip.engine.checkpoint_fit`), unless ``allow_partial_load=True``; one run-log
line says what was loaded.

:func:`with_checkpoint_contents_hook` adds the hook to a config; :mod:`mer_clip.apis.training`
and :mod:`mer_clip.apis.testing` (so tools/train.py, tools/test.py and every fold) call it.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS

from ...compat import checkpoint_source
from ..checkpoint_fit import check_checkpoint_fits, checkpoint_state
from ..frozen_text_tower import restore_frozen_text_towers, strip_frozen_text_towers

#: config keys the hook reads (defaults in configs/_base_/default_runtime.py)
ALLOW_PARTIAL_LOAD = 'allow_partial_load'
FINAL_WEIGHTS_ONLY = 'final_checkpoint_weights_only'
#: what a weights-only checkpoint drops: training state only a further training would need
TRAINING_STATE = ('optimizer', 'param_schedulers')


def _model(runner):
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def is_final_checkpoint(runner, checkpoint: dict) -> bool:
    """The checkpoint is saved after the last training iteration (epoch-based loops too)."""
    done = (checkpoint.get('meta') or {}).get('iter')
    return done is not None and done >= runner.max_iters


@HOOKS.register_module()
class CheckpointContentsHook(Hook):
    """The frozen text tower by its file, a weights-only final checkpoint and the load check
    (see the module docstring). Reads ``allow_partial_load`` and
    ``final_checkpoint_weights_only`` from the runner's config."""

    priority = 'VERY_HIGH'  # the tower is back in the state dict before other hooks look

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        strip_frozen_text_towers(_model(runner), checkpoint)
        if runner.cfg.get(FINAL_WEIGHTS_ONLY, False) and is_final_checkpoint(runner, checkpoint):
            for key in TRAINING_STATE:
                checkpoint.pop(key, None)
            checkpoint['meta']['weights_only'] = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        path = checkpoint_source(checkpoint) or str(runner.cfg.get('load_from') or 'checkpoint')
        model = _model(runner)
        notes = restore_frozen_text_towers(model, checkpoint, path)
        check_checkpoint_fits(model, checkpoint_state(checkpoint), path,
                              allow_partial=bool(runner.cfg.get(ALLOW_PARTIAL_LOAD, False)),
                              notes=notes)


def with_checkpoint_contents_hook(cfg):
    """``cfg`` with a :class:`CheckpointContentsHook` in ``custom_hooks`` (added once)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('CheckpointContentsHook', CheckpointContentsHook) for h in hooks):
        hooks.append(dict(type='CheckpointContentsHook'))
    cfg.custom_hooks = hooks
    return cfg


__all__ = ['CheckpointContentsHook', 'is_final_checkpoint', 'with_checkpoint_contents_hook']
