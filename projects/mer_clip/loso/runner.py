"""The LOSO experiment behind ``tools/loso.py``: plan, run (resumably) and report.

One fold per subject (or per value of the protocol's fold key: ``protocol='lodo'`` holds out one
dataset at a time; :mod:`mer_clip.datasets.protocol`), each a :class:`~.fold_job.FoldJob` in
``work_dir/fold_<value>/``, trained and then tested on its **last** checkpoint
(:mod:`.fold_steps`); the folds' predictions are pooled into the reports (:mod:`.pooling`).
:class:`LOSOExperiment` composes the pieces, one concern each:

- :mod:`.plan`: the folds as jobs, and the experiment's identity (``loso_run.json``);
- :mod:`.fold_files`: what a fold has done, its checkpoint rule, what it keeps;
- :mod:`.scheduler`: fold slots, in the ``subprocess`` or ``inprocess`` fold mode;
- :mod:`.batched`: the ``batched`` fold mode, every pending fold of a small model in one
  vectorised training in this process;
- :mod:`.lock`: one run per work dir, and no fold process left behind on a signal;
- :mod:`.pooling` / :mod:`.reports`: the pooled report.

Resuming is by files, so a run killed at any moment continues with the same command: finished
folds are skipped, an interrupted fold resumes from its newest complete checkpoint, and (with
``RNGStateHook``'s per-epoch seeding and the batch-independent prompt features of
``CLIPTextEncoder``) its predictions are byte-identical to an uninterrupted run's.

The MER-CLIP authors keep the epoch with the best UF1 on the test subject; that selection on the
test fold inflates the numbers. It is available only as ``select_on_test_fold_unsafe=True``
(``--select-on-test-fold-UNSAFE``) for reproducing their tables, labelled so in every report.
"""
import contextlib
import os
import sys
from typing import Dict, List, Optional, Sequence

from .fold_files import FoldFailed, is_done
from .fold_job import FoldJob
from .folds import FoldList
from .lock import StopOnSignal, WorkDirLock
from .plan import LOSOPlan
from .pooling import pool_folds
from .progress import Progress
from .scheduler import FoldScheduler
from .summary import LOSOSummary


class LOSOExperiment:
    """Plan, run (resumably) and report the folds of one config. See the module docstring.

    Args:
        config: config file.
        work_dir: experiment folder (folds in ``fold_<value>/``, reports at the top).
        cfg_options: ``key=value`` strings for every fold's training and test.
        seed: base seed; every fold trains with this seed (``randomness.seed``).
        subjects: a subset of folds to run and report (default: all folds; fold values, i.e.
            subjects for LOSO, datasets for ``protocol='lodo'``).
        device_groups: one entry per parallel slot: a list of device ids (CUDA_VISIBLE_DEVICES) or
            ``None`` for a CPU slot. A group of several devices trains its fold with DDP.
        select_on_test_fold_unsafe: the authors' protocol (see module docstring). Off by default.
        keep_checkpoints: 'tested' (default) keeps a finished fold's tested (weights-only)
            checkpoint only; 'all' every one; 'none' deletes them all once the fold is tested.
        protocol: ``'loso'`` (folds by subject), ``'lodo'`` (by dataset) or a record field
            (:func:`mer_clip.datasets.protocol.get_protocol`); None: the config's ``fold_key``
            (its test dataset's), else ``'loso'``.
        strict_labels: an emotion label that is no known emotion of the class scheme stops the
            run (``--strict``) instead of a warning; not part of the experiment's identity.
        fold_mode: ``'subprocess'``, ``'inprocess'`` (:mod:`.scheduler`) or ``'batched'``
            (:mod:`.batched`: STSTNet or OFF-ApexNet folds as one vectorised model); None: the
            config's ``loso_fold_mode``, else ``'subprocess'``. Not part of the identity either
            (the same steps give the same predictions); each fold.json records it.
        reproducible: the reproducible CPU mode (:mod:`mer_clip.utils.reproducible`): every fold
            process starts with its pins; part of the identity (a resume in the other mode, or
            with other pins, is refused).
        fold_cfg_options: ``{fold value: [key=value, ...]}``, options of those folds only, after
            ``cfg_options`` (:mod:`.plan`).
        retrain_changed: when the annotation's samples changed since the folds were trained
            (``loso_run.json`` keeps their digests, :mod:`.data_identity`), retrain the folds whose
            training set changed and re-test those whose test set alone did, instead of refusing.
    """

    def __init__(self, config: str, work_dir: str, cfg_options: Optional[Sequence[str]] = None,
                 seed: Optional[int] = None, subjects: Optional[Sequence[str]] = None,
                 device_groups: Optional[Sequence[Optional[Sequence[str]]]] = None,
                 select_on_test_fold_unsafe: bool = False, python: str = sys.executable,
                 poll_interval: float = 1.0, progress_stream=None,
                 keep_checkpoints: str = 'tested', protocol: Optional[str] = None,
                 strict_labels: bool = False, fold_mode: Optional[str] = None,
                 fold_cfg_options: Optional[Dict[str, Sequence[str]]] = None,
                 retrain_changed: bool = False, reproducible: bool = False) -> None:
        self.plan_ = LOSOPlan(config, work_dir, cfg_options=cfg_options, seed=seed,
                              subjects=subjects,
                              select_on_test_fold_unsafe=select_on_test_fold_unsafe,
                              keep_checkpoints=keep_checkpoints, protocol=protocol,
                              strict_labels=strict_labels, fold_mode=fold_mode,
                              fold_cfg_options=fold_cfg_options,
                              retrain_changed=retrain_changed, reproducible=reproducible)
        self.device_groups = list(device_groups) if device_groups else [None]
        if self.fold_mode == 'inprocess' and any(g is not None and len(g) > 1
                                                 for g in self.device_groups):
            raise ValueError('--fold-mode inprocess runs one device per fold; DDP folds '
                             '(--launcher-gpus-per-fold > 1) need --fold-mode subprocess')
        if self.fold_mode == 'batched' and any(g is not None for g in self.device_groups):
            raise ValueError('--fold-mode batched trains every fold in this process on the CPU '
                             '(--parallel N: N threads); drop --gpus / --devices, or use '
                             '--fold-mode inprocess')
        self.python = python
        self.poll_interval = poll_interval
        self.progress_stream = progress_stream

    # the plan's facts, read by tools/loso.py and the tests
    work_dir = property(lambda self: self.plan_.work_dir)
    seed = property(lambda self: self.plan_.seed)
    fold_mode = property(lambda self: self.plan_.fold_mode)
    folds: List[FoldJob] = property(lambda self: self.plan_.jobs)
    fold_list: Optional[FoldList] = property(lambda self: self.plan_.folds_found)

    def plan(self) -> List[FoldJob]:
        """Find the folds (annotations only, no images) and make their jobs."""
        return self.plan_.plan()

    def prepare_work_dir(self) -> None:
        """Record (or check) the experiment's identity in the work dir (:mod:`.plan`)."""
        self.plan_.prepare_work_dir()

    def recorded_run_state(self) -> Optional[Dict]:
        return self.plan_.recorded_run_state()

    def write_jobs(self) -> List[str]:
        """Plan if needed, record the identity and write every fold's job; returns the pending
        folds' job files (what a cluster array runs, :file:`tools/slurm_loso.sh`)."""
        if not self.folds:
            self.plan()
        self.prepare_work_dir()
        paths = self.plan_.write_jobs()
        return [p for job, p in zip(self.folds, paths) if not is_done(job)]

    def run(self) -> LOSOSummary:
        """Run every fold that is not done, then write the reports; returns the summary."""
        os.makedirs(self.work_dir, exist_ok=True)
        with WorkDirLock(self.work_dir) as lock:
            if not self.folds:
                self.plan()
            self.prepare_work_dir()
            self.plan_.write_jobs()
            self._run_folds(lock.fd)
            return self.report()

    def _run_folds(self, lock_fd: Optional[int]) -> None:
        progress = Progress(len(self.folds), self.plan_.max_epochs, stream=self.progress_stream)
        self.plan_.warn_if_not_resumable(progress.log)
        pending = [job for job in self.folds if not is_done(job)]
        for job in self.folds:
            if is_done(job):
                progress.fold_finished(job.name, trained_here=False)
        if len(pending) < len(self.folds):
            progress.log(f'[loso] {len(self.folds) - len(pending)} of {len(self.folds)} folds '
                         f'already done in {self.work_dir}: skipped')
        procs = {}
        scheduler = FoldScheduler(self.device_groups, progress, python=self.python,
                                  poll_interval=self.poll_interval, lock_fd=lock_fd, procs=procs,
                                  reproducible=self.plan_.reproducible)
        with StopOnSignal(procs):
            if self.fold_mode == 'batched':
                self._run_batched(pending, progress)
            elif self.fold_mode == 'inprocess':
                scheduler.run_workers(pending, self.work_dir)
            else:
                scheduler.run_subprocess(pending)
        progress.update(force=True)
        if self.progress_stream is None or getattr(self.progress_stream, 'isatty', lambda: 0)():
            (self.progress_stream or sys.stderr).write('\n')

    def _run_batched(self, pending: List[FoldJob], progress: Progress) -> None:
        """The pending folds as one vectorised training (:mod:`.batched`); its library output
        (mmengine's model-building messages) goes to ``WORK_DIR/batched.out``."""
        from .batched.trainer import train_batched
        for job in pending:
            os.makedirs(job.work_dir, exist_ok=True)
        log_file = os.path.join(self.work_dir, 'batched.out')
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(len(self.device_groups))  # --parallel N: the slots as threads
        progress.log(f'[loso] batched: {len(pending)} folds in this process, '
                     f'{len(self.device_groups)} thread(s); log {log_file}')
        with open(log_file, 'a') as out, contextlib.redirect_stdout(out):
            train_batched(pending, self.work_dir, log=progress.log,
                          on_fold_done=lambda job: progress.fold_finished(job.name),
                          all_jobs=self.folds)
        torch.set_num_threads(threads)

    def report(self, plots: bool = True) -> LOSOSummary:
        """Pool the folds' predictions and write predictions.csv, summary.json/.md and figures."""
        if self.fold_list is None:
            self.plan()
        return pool_folds(self.plan_, plots=plots)


__all__ = ['FoldFailed', 'LOSOExperiment']
