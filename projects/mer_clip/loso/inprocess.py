"""Many LOSO folds in one worker process: the fold mode for small models.

In the default (``subprocess``) mode every fold pays a fresh Python process twice
(``tools/train.py`` then ``tools/test.py``): imports, registries, a cold start of torch. For the
flow models of the MEGC2019 composite (68 folds of a few seconds of training each) that fixed cost
is larger than the training itself (docs/speed.md, "LOSO folds of small models"). In ``inprocess``
mode (``tools/loso.py --fold-mode inprocess``, or ``loso_fold_mode = 'inprocess'`` in a config)
:class:`LOSOExperiment` starts one worker per slot (``--parallel N``) and gives each its share of
the pending folds; the worker runs them one after the other::

    python -m mer_clip.loso.inprocess --spec JSON --folds s01 s02 ...

Each fold runs the **same steps** as in the subprocess mode (:meth:`LOSOExperiment.steps_for`):
``tools/train.py`` and ``tools/test.py`` with the same arguments, their ``run()`` called in this
process instead of in a new one, their output in the same ``train.out`` / ``test.out``, the same
checks after each step (the verified ``train_done.json``, the atomic ``predictions.csv``) and the
same ``fold.json``. So everything that makes a LOSO run trustworthy holds unchanged:

- **resume**: the files decide what a fold still needs (a killed worker's fold resumes from its
  last checkpoint, or starts again); every fold is seeded by its Runner and ``RNGStateHook``, not
  by what ran before it in the process, so its predictions equal those of a fresh process
  (tested: ``tests/loso/test_loso_inprocess.py``);
- **no orphans**: the worker runs under :mod:`.watchdog` like any fold step;
- **isolation**: mmengine keeps per-run singletons (logger, message hub, visualizer, default scope)
  by experiment name, a timestamp with one-second resolution: after each step the ones it created
  are closed and dropped (:func:`release_run_state`), so a fold never writes into another fold's
  log or reads its runtime info.

Not for DDP folds (a fold on several devices needs torchrun): those keep the subprocess mode.
"""
import argparse
import contextlib
import gc
import importlib.util
import json
import os
import os.path as osp
import sys
import time
import traceback
from typing import Dict, List, Sequence

STOP_FILE = '.inprocess_stop'  # in the work dir: the runner asks the workers to start no new fold


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


def load_tool(tools_dir: str, name: str):
    """``tools/<name>.py`` as a module (its ``run(argv)`` is the tool without the process)."""
    path = osp.join(tools_dir, f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_mer_clip_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_step(step, tools: Dict[str, object]) -> None:
    """Run one fold step (``python tools/train.py ...``) in this process, its output appended to
    ``step.log_file``; a failure raises :class:`~.runner.FoldFailed` with the log's tail."""
    from .runner import FoldFailed, _tail
    tool = osp.splitext(osp.basename(step.cmd[1]))[0]
    if tool not in tools:
        raise FoldFailed(f'{step.name}: {step.cmd[:2]} cannot run in-process (only '
                         f'{sorted(tools)}); use --fold-mode subprocess')
    before = run_state_names()
    failed = None
    with open(step.log_file, 'a') as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        try:
            status = tools[tool].run(step.cmd[2:])
            if status:
                failed = f'exited with {status}'
        except SystemExit as e:  # a tool's sys.exit('message')
            if e.code not in (None, 0):
                failed = f'exited with {e.code}'
                if not isinstance(e.code, int):
                    log.write(f'{e.code}\n')
        except Exception:  # noqa: BLE001 - reported with the fold, like a failed subprocess
            traceback.print_exc(file=log)
            failed = 'raised an exception'
        finally:
            release_run_state(before)
            gc.collect()
    if failed:
        raise FoldFailed(f'{step.name} {failed} (in-process); see {step.log_file}:\n'
                         f'{_tail(step.log_file)}')


def run_folds(exp, names: Sequence[str], tools_dir: str, log=print) -> int:
    """Run the folds ``names`` of the planned experiment ``exp`` one after the other; 0 when all
    are done, 1 after the first failure (the fold is named in the log), 3 when stopped."""
    from .runner import FoldFailed, format_seconds
    tools = {name: load_tool(tools_dir, name) for name in ('train', 'test')}
    by_name = {f.name: f for f in exp.folds}
    stop = osp.join(exp.work_dir, STOP_FILE)
    for name in names:
        fold = by_name[name]
        if fold.done:
            continue
        if osp.exists(stop):
            log(f'[inprocess] stop requested: fold {name} not started')
            return 3
        os.makedirs(fold.work_dir, exist_ok=True)
        note = exp.check_trained(fold)
        if note:
            log(f'[inprocess] fold {name}: {note}')
        seconds = {}
        t_fold = time.time()
        log(f'[inprocess] fold {name}: start')
        try:
            for factory in exp.steps_for(fold, None):
                step = factory()
                note = step.before()
                with open(step.log_file, 'a') as f:
                    if note:
                        f.write(f'\n[loso] {note}\n')
                    f.write(f'\n$ (in-process) {" ".join(step.cmd[1:])}\n')
                t0 = time.time()
                run_step(step, tools)
                step.on_success()
                seconds[step.name] = time.time() - t0
        except FoldFailed as e:
            log(f'[inprocess] fold {name} FAILED: {e}')
            return 1
        exp.finish_fold(fold, seconds, fold_mode='inprocess')
        log(f'[inprocess] fold {name}: done in {time.time() - t_fold:.1f}s '
            f'({format_seconds(seconds)})')
    return 0


def worker_command(python: str, spec: dict, names: Sequence[str]) -> List[str]:
    """The command line of one worker (run under the watchdog by the runner)."""
    return [python, '-m', 'mer_clip.loso.inprocess', '--spec', json.dumps(spec), '--folds',
            *names]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='Run LOSO folds in one process (started by '
                                'tools/loso.py --fold-mode inprocess)')
    p.add_argument('--spec', required=True, help='JSON: the LOSOExperiment arguments')
    p.add_argument('--folds', nargs='+', required=True)
    args = p.parse_args(argv)
    import mer_clip  # noqa: F401  (compat, registries)
    from .runner import LOSOExperiment
    exp = LOSOExperiment(**json.loads(args.spec))
    exp.plan()
    unknown = sorted(set(args.folds) - {f.name for f in exp.folds})
    if unknown:
        sys.stderr.write(f'[inprocess] unknown folds {unknown}\n')
        return 2
    return run_folds(exp, args.folds, exp.tools_dir,
                     log=lambda msg: (sys.stdout.write(msg + '\n'), sys.stdout.flush()))


if __name__ == '__main__':
    sys.exit(main())
