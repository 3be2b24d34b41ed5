"""mmengine's per-run singletons, released after a step that ran in this process.

mmengine keeps a logger, message hub, visualizer and default scope per run, named by a timestamp of
one-second resolution. Several fold steps in one process (the in-process fold mode,
``tools/select_schedule.py``) must not write into another fold's log or read its runtime info:
after each step the singletons it created are closed and dropped (:func:`release_run_state`).
"""
from typing import Dict


def _mixin_classes():
    from mmengine.utils import ManagerMixin
    todo, out = [ManagerMixin], []
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def run_state_names() -> Dict[type, set]:
    """The names of mmengine's per-run singletons (``ManagerMixin`` instances) that exist now."""
    return {cls: set(cls.__dict__.get('_instance_dict', {})) for cls in _mixin_classes()}


def release_run_state(before: Dict[type, set]) -> None:
    """Close and drop the per-run singletons created since ``before`` (:func:`run_state_names`):
    loggers (their log files), message hubs, visualizers, default scopes."""
    import logging
    for cls in _mixin_classes():
        instances = cls.__dict__.get('_instance_dict')
        if instances is None:
            continue
        for name in [n for n in instances if n not in before.get(cls, ())]:
            inst = instances.pop(name)
            if isinstance(inst, logging.Logger):
                for handler in list(inst.handlers):
                    handler.close()
                    inst.removeHandler(handler)
            close = getattr(inst, 'close', None)
            if close is not None and not isinstance(inst, logging.Logger):
                try:
                    close()
                except Exception:  # noqa: BLE001 - a backend that cannot close is not an error
                    pass


__all__ = ['release_run_state', 'run_state_names']
