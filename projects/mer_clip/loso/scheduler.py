"""Fold slots: which fold runs where, and when.

Two fold modes run the same fold jobs (:mod:`.fold_steps`):

- ``subprocess``: every step of a fold is a process of its own,
  ``python -m mer_clip.loso fold JOB --step S`` (on several devices it trains under torchrun),
  ``len(device_groups)`` folds side by side;
- ``inprocess``: one worker process per slot (:mod:`.inprocess`) runs its share of the folds one
  after the other; for small models, whose folds would spend more time starting Python than
  training. DDP folds need the subprocess mode.

Every process runs under :mod:`.watchdog`, so none outlives ``tools/loso.py`` (SIGTERM, SIGINT or
SIGKILL) and the work dir stays locked until the last one is gone. DDP folds get a rendezvous port
that is free at launch (``PORT`` + slot when the user sets ``PORT``).
"""
import ctypes
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import IO, Deque, Dict, List, Optional, Sequence

from ..utils.reproducible import pinned_environ
from .fold_files import (FoldFailed, check_trained, format_seconds, is_done, pending_steps,
                         read_fold_info)
from .fold_job import JOB_FILE, FoldJob
from .fold_steps import failure_reason, launch_port, step_log, tail
from .inprocess import STOP_FILE, worker_command
from .progress import Progress

WATCHDOG = osp.join(osp.dirname(osp.abspath(__file__)), 'watchdog.py')
Devices = Optional[Sequence[str]]


@dataclass
class RunningFold:
    """A fold of the subprocess mode: its slot, the steps left, the step running now."""
    job: FoldJob
    slot: int
    steps: Deque[str]
    start: float
    step: Optional[str] = None
    proc: Optional[subprocess.Popen] = None
    log: Optional[IO] = None
    step_start: float = 0.0


@dataclass
class Worker:
    """An in-process worker: its slot, the folds it has not finished, the one it is on."""
    slot: int
    share: Deque[FoldJob]
    proc: subprocess.Popen
    log: IO
    log_file: str
    current: Optional[str] = None
    start: Optional[float] = None


def _set_pdeathsig():  # runs in the child between fork and exec (single-threaded parent)
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class FoldScheduler:
    """Runs fold jobs in ``device_groups`` slots (one entry per slot: device ids, or None for a
    CPU slot), under the watchdog, with the work-dir lock's descriptor ``lock_fd`` passed on.
    ``procs``: the running processes by key, shared with the signal handler."""

    def __init__(self, device_groups: Sequence[Devices], progress: Progress,
                 python: str = sys.executable, poll_interval: float = 1.0,
                 lock_fd: Optional[int] = None,
                 procs: Optional[Dict[str, subprocess.Popen]] = None,
                 reproducible: bool = False) -> None:
        self.device_groups = list(device_groups) or [None]
        self.reproducible = reproducible
        self.progress = progress
        self.python = python
        self.poll_interval = poll_interval
        self.lock_fd = lock_fd
        self.procs = {} if procs is None else procs

    # ------------------------------------------------------------------------ processes
    def env(self, devices: Devices) -> Dict[str, str]:
        """The environment of a fold process on ``devices``; in the reproducible mode with its
        pins (they act only when a process starts)."""
        env = pinned_environ() if self.reproducible else dict(os.environ)
        if devices is not None:
            env['CUDA_VISIBLE_DEVICES'] = ','.join(str(d) for d in devices)
        elif len(self.device_groups) > 1 and 'OMP_NUM_THREADS' not in os.environ:
            # several CPU folds side by side: share the cores instead of oversubscribing them
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // len(self.device_groups)))
        return env

    def spawn_watched(self, key: str, cmd: Sequence[str], log, env: Dict) -> subprocess.Popen:
        """Start ``cmd`` in a session of its own under the watchdog (see :mod:`.watchdog`), which
        ends its whole process tree with this process and keeps the work-dir lock until then."""
        proc = subprocess.Popen(
            [self.python, WATCHDOG, str(os.getpid()), '--', *cmd], stdout=log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=_set_pdeathsig,
            pass_fds=(self.lock_fd, ) if self.lock_fd is not None else ())
        self.procs[key] = proc
        return proc

    def step_command(self, job: FoldJob, step: str, devices: Devices, slot: int = 0):
        """``(cmd, env)`` of one step in the subprocess mode; training on several devices runs
        torchrun on a free port (``--nproc``)."""
        cmd = [self.python, '-m', 'mer_clip.loso', 'fold', osp.join(job.work_dir, JOB_FILE),
               '--step', step]
        if step == 'train' and devices is not None and len(devices) > 1:
            env = self.env(devices)
            env['PORT'] = str(launch_port(slot))
            return cmd + ['--nproc', str(len(devices))], env
        return cmd, self.env(devices[:1] if devices else devices)

    # ------------------------------------------------------------------------ subprocess mode
    def run_subprocess(self, pending: Sequence[FoldJob]) -> None:
        """Every step of every fold a process of its own, one fold per slot at a time."""
        pending = deque(pending)
        free = list(range(len(self.device_groups)))
        running: Dict[str, RunningFold] = {}
        failures: List[str] = []
        while pending or running:
            while free and pending and not failures:
                job, slot = pending.popleft(), free.pop(0)
                os.makedirs(job.work_dir, exist_ok=True)
                devices = self.device_groups[slot]
                note = check_trained(job)
                if note:
                    self.progress.log(f'[loso] fold {job.name}: {note}')
                fold = RunningFold(job, slot, deque(pending_steps(job)), time.time())
                self.progress.fold_started(job.name, job.work_dir)
                resumed = ' (resuming)' if osp.exists(
                    osp.join(job.work_dir, 'last_checkpoint')) else ''
                self.progress.log(f'[loso] fold {job.name}: start{resumed}'
                                  + (f' on devices {",".join(devices)}' if devices else ''))
                running[job.name] = fold
                self._advance(fold, failures)
            for name in list(running):
                fold = running[name]
                if fold.proc is not None and fold.proc.poll() is None:
                    continue
                if fold.proc is not None:  # its step ended: the next one, if it may run
                    self._advance(fold, failures)
                if fold.proc is None:  # finished, failed, or its step could not start
                    running.pop(name)
                    free.append(fold.slot)
                    free.sort()
            if (not pending and not running) or (failures and not running):
                break
            self.progress.update()
            time.sleep(self.poll_interval)
        if failures:
            raise folds_failed(failures)

    def _advance(self, fold: RunningFold, failures: List[str]) -> None:
        """Finish the fold's current step (if any) and start its next one."""
        job, proc = fold.job, fold.proc
        if proc is not None:
            fold.log.close()
            self.procs.pop(job.name, None)
            fold.proc = None
            if proc.returncode != 0:
                log_file = step_log(job, fold.step)
                text = tail(log_file)
                hint = ''
                if 'EADDRINUSE' in text or 'address already in use' in text.lower():
                    hint = ('\nhint: the DDP rendezvous port is taken (another job on this '
                            'node?); set PORT to a free port, or leave it unset to get one')
                reason = failure_reason(log_file)
                failures.append(f'fold {job.name}: {fold.step}: {reason} (log: {log_file})'
                                if reason and not hint else
                                f'fold {job.name}: {fold.step} exited with {proc.returncode}; '
                                f'see {log_file}:\n{text}{hint}')
                self.progress.log(f'[loso] fold {job.name} FAILED ({fold.step}); see {log_file}')
                self.progress.fold_failed(job.name)
                return
        if not fold.steps:
            self.progress.fold_finished(job.name)
            self.progress.log(f'[loso] fold {job.name}: done in {time.time() - fold.start:.0f}s')
            return
        step = fold.steps.popleft()
        try:
            cmd, env = self.step_command(job, step, self.device_groups[fold.slot], fold.slot)
        except FoldFailed as e:  # e.g. PORT taken: the fold stops here, no later step runs
            failures.append(f'fold {job.name}: {step} could not start: {e}')
            self.progress.log(f'[loso] fold {job.name} FAILED ({step} could not start)')
            self.progress.fold_failed(job.name)
            return
        log_file = step_log(job, step)
        fold.log = open(log_file, 'a')
        fold.log.write(f'\n$ {" ".join(cmd)}\n')
        fold.log.flush()
        fold.step, fold.step_start = step, time.time()
        fold.proc = self.spawn_watched(job.name, cmd, fold.log, env)

    # ------------------------------------------------------------------------ in-process mode
    def run_workers(self, pending: Sequence[FoldJob], work_dir: str) -> None:
        """One worker process per slot (:mod:`.inprocess`), the pending folds dealt out in turn
        (every fold trains on all subjects but one, so they cost about the same); the files tell
        which fold each worker is on."""
        stop = osp.join(work_dir, STOP_FILE)
        if osp.exists(stop):
            os.remove(stop)  # left by an earlier run that stopped after a failure
        slots = len(self.device_groups)
        workers: List[Worker] = []
        failures: List[str] = []
        for slot in range(slots):
            share = list(pending[slot::slots])
            if not share:
                continue
            log_file = osp.join(work_dir, f'inprocess_worker{slot}.out')
            log = open(log_file, 'a')
            cmd = worker_command(self.python, [osp.join(j.work_dir, JOB_FILE) for j in share],
                                 stop)
            log.write(f'\n$ {" ".join(cmd[:5])} ... ({len(share)} fold jobs)\n')
            log.flush()
            devices = self.device_groups[slot]
            proc = self.spawn_watched(f'worker{slot}', cmd, log, self.env(devices))
            self.progress.log(f'[loso] in-process worker {slot}: {len(share)} fold(s)'
                              + (f' on devices {",".join(devices)}' if devices else '')
                              + f'; log {log_file}')
            workers.append(Worker(slot, deque(share), proc, log, log_file))
        while workers:
            for w in list(workers):
                self._follow_worker(w)
                if w.proc.poll() is None:
                    continue
                self._follow_worker(w)
                w.log.close()
                self.procs.pop(f'worker{w.slot}', None)
                workers.remove(w)
                if w.proc.returncode != 0 or w.share:
                    if w.proc.returncode == 3:  # stopped before a fold, as asked
                        continue
                    fold = w.current or (w.share[0].name if w.share else '?')
                    reason = self._worker_failure(w)
                    failures.append(reason or f'{fold}: in-process worker {w.slot} exited with '
                                    f'{w.proc.returncode}; see {w.log_file}:\n{tail(w.log_file)}')
                    self.progress.log(f'[loso] fold {fold} FAILED; see {w.log_file}')
                    self.progress.fold_failed(fold)
                    open(stop, 'w').close()  # the other workers start no new fold
            if workers:
                if any(w.share for w in workers):  # the last line is written by the caller
                    self.progress.update()
                time.sleep(self.poll_interval)
        if osp.exists(stop):
            os.remove(stop)
        if failures:
            raise folds_failed(failures)

    @staticmethod
    def _worker_failure(w: Worker) -> Optional[str]:
        """``fold F: STEP: <the user error's line> (log: ...)`` of the fold a failed worker was
        on (its first step not done), None when that step did not end with a user error."""
        if not w.share:
            return None
        job = w.share[0]
        try:
            steps = pending_steps(job)
        except (OSError, ValueError):
            return None
        log_file = step_log(job, steps[0]) if steps else None
        reason = failure_reason(log_file) if log_file else None
        return f'fold {job.name}: {steps[0]}: {reason} (log: {log_file})' if reason else None

    def _follow_worker(self, w: Worker) -> None:
        """Progress of one worker: its folds finish in order, and the first one not done is the
        one it is training."""
        while w.share and is_done(w.share[0]):
            job = w.share.popleft()
            if w.current != job.name:
                self.progress.fold_started(job.name, job.work_dir)
            self.progress.fold_finished(job.name)
            info = format_seconds(read_fold_info(job.work_dir).get('seconds', {}))
            self.progress.log(f'[loso] fold {job.name}: done in {time.time() - w.start:.0f}s'
                              + (f' ({info})' if info else '') if w.start else
                              f'[loso] fold {job.name}: done')
            w.current, w.start = None, None
        if w.share and w.current != w.share[0].name and w.proc.poll() is None:
            job = w.share[0]
            w.current, w.start = job.name, time.time()
            self.progress.fold_started(job.name, job.work_dir)


def folds_failed(failures: Sequence[str]) -> FoldFailed:
    """One failure as it is (a user error's failure is one line), several under a heading."""
    if len(failures) == 1:
        return FoldFailed(failures[0])
    return FoldFailed(f'{len(failures)} folds failed:\n' + '\n'.join(failures))


def parse_device_groups(devices: Optional[str], gpus: Optional[int], per_fold: int,
                        parallel_cpu: int = 1) -> List[Optional[List[str]]]:
    """Slots for parallel folds: ``--devices 0,1,2,3`` / ``--gpus 4`` split into groups of
    ``per_fold`` devices (one fold per group); without devices, ``parallel_cpu`` CPU slots."""
    if devices:
        ids = [d.strip() for d in devices.split(',') if d.strip()]
    elif gpus:
        ids = [str(i) for i in range(gpus)]
    else:
        return [None] * max(1, parallel_cpu)
    if per_fold < 1 or len(ids) % per_fold:
        raise ValueError(f'{len(ids)} devices cannot be split into groups of {per_fold} '
                         '(--launcher-gpus-per-fold)')
    return [ids[i:i + per_fold] for i in range(0, len(ids), per_fold)]


__all__ = ['FoldScheduler', 'RunningFold', 'Worker', 'parse_device_groups']
