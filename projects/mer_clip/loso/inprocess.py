"""Many LOSO folds in one worker process: the fold mode for small models.

In the default (``subprocess``) mode every fold pays a fresh Python process twice (its train
step, then its test step): imports, registries, a cold start of torch. For the
flow models of the MEGC2019 composite (68 folds of a few seconds of training each) that fixed cost
is larger than the training itself (docs/speed.md, "LOSO folds of small models"). In ``inprocess``
mode (``tools/loso.py --fold-mode inprocess``, or ``loso_fold_mode = 'inprocess'`` in a config)
the LOSO runner starts one worker per slot (``--parallel N``) and gives each its share of the
pending fold jobs; the worker runs them one after the other::

    python -m mer_clip.loso worker --stop-file WORK_DIR/.inprocess_stop JOB.json [JOB.json ...]

Each fold runs the **same steps** as in the subprocess mode (:mod:`.fold_steps`): the same library
calls (:func:`mer_clip.apis.training.train`, :func:`mer_clip.apis.testing.test`) on the same
configs, in this process instead of in a new one, their output in the same ``train.out`` /
``test.out``, the same checks after each step (the verified ``train_done.json``, the atomic
``predictions.csv``) and the same ``fold.json``. So everything that makes a LOSO run trustworthy
holds unchanged:

- **resume**: the files decide what a fold still needs (a killed worker's fold resumes from its
  last checkpoint, or starts again); every fold is seeded by its Runner and ``RNGStateHook``, not
  by what ran before it in the process, so its predictions equal those of a fresh process
  (tested: ``tests/loso/test_loso_inprocess.py``);
- **no orphans**: the worker runs under :mod:`.watchdog` like any fold step;
- **isolation**: mmengine keeps per-run singletons (logger, message hub, visualizer, default scope)
  by experiment name, a timestamp with one-second resolution: after each step the ones it created
  are closed and dropped (:mod:`.mmengine_state`), so a fold never writes into another fold's
  log or reads its runtime info.

Not for DDP folds (a fold on several devices needs torchrun): those keep the subprocess mode.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, List, Sequence

from .fold_files import FoldFailed, format_seconds, is_done, read_fold_info
from .fold_job import FoldJob
from .fold_steps import run_fold

STOP_FILE = '.inprocess_stop'  # in the work dir: the runner asks the workers to start no new fold


def run_jobs(jobs: Sequence[FoldJob], stop_file: str = None,
             log: Callable[[str], None] = print) -> int:
    """Run the fold jobs one after the other in this process; 0 when all are done, 1 after the
    first failure (the fold is named in the log), 3 when asked to stop before a fold."""
    for job in jobs:
        if is_done(job):
            continue
        if stop_file and osp.exists(stop_file):
            log(f'[inprocess] stop requested: fold {job.name} not started')
            return 3
        log(f'[inprocess] fold {job.name}: start')
        try:
            run_fold(job, log=lambda m: log(f'[inprocess] {m}'))
        except FoldFailed as e:
            log(f'[inprocess] fold {job.name} FAILED: {e}')
            return 1
        seconds = read_fold_info(job.work_dir).get('seconds', {})
        log(f'[inprocess] fold {job.name}: done ({format_seconds(seconds)})')
    return 0


def worker_command(python: str, job_files: Sequence[str], stop_file: str) -> List[str]:
    """The command line of one worker (run under the watchdog by the runner)."""
    return [python, '-m', 'mer_clip.loso', 'worker', '--stop-file', stop_file, *job_files]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='Run LOSO fold jobs in one process (started by '
                                'tools/loso.py --fold-mode inprocess)')
    p.add_argument('jobs', nargs='+', help='fold job files (fold_<value>/fold_job.json)')
    p.add_argument('--stop-file', help='start no new fold once this file exists')
    args = p.parse_args(argv)
    jobs = [FoldJob.load(path) for path in args.jobs]
    if jobs and jobs[0].cwd:
        os.chdir(jobs[0].cwd)
    return run_jobs(jobs, args.stop_file,
                    log=lambda msg: (sys.stdout.write(msg + '\n'), sys.stdout.flush()))

