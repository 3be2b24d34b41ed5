"""One LOSO run per work dir, and no fold process left behind when it is stopped.

:class:`WorkDirLock` holds ``work_dir/.loso.lock`` (``flock``) for the run; its file descriptor is
passed to every fold process's watchdog (:mod:`.watchdog`), so the work dir stays locked until the
last process of a fold is gone, even when ``tools/loso.py`` itself was killed.
:class:`StopOnSignal` ends the running folds' process groups on SIGTERM / SIGINT and exits with
128 + the signal; the same command resumes.
"""
import fcntl
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from typing import Dict, Optional

LOCK_FILE = '.loso.lock'


class WorkDirLock:
    """``with WorkDirLock(work_dir) as lock:`` ... ``lock.fd`` is the descriptor to pass on."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self._file = None

    @property
    def fd(self) -> Optional[int]:
        return self._file.fileno() if self._file is not None else None

    def __enter__(self) -> 'WorkDirLock':
        os.makedirs(self.work_dir, exist_ok=True)
        lock = open(osp.join(self.work_dir, LOCK_FILE), 'a+')
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise RuntimeError(f'another tools/loso.py is running in {self.work_dir}, or the '
                               'processes of a stopped one are still shutting down; wait for it '
                               'or use another --work-dir') from None
        self._file = lock
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class StopOnSignal:
    """While active, SIGTERM / SIGINT stop every process in ``procs`` (their whole process
    groups: SIGTERM, SIGKILL after 30 s) and exit; rerun the command to resume."""

    def __init__(self, procs: Dict[str, subprocess.Popen]) -> None:
        self.procs = procs
        self._old = {}

    def __enter__(self) -> 'StopOnSignal':
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM,
                                                                    signal.SIGINT)}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)

    def _on_signal(self, signum, frame):
        for proc in list(self.procs.values()):
            kill_group(proc, signal.SIGTERM)
        deadline = time.time() + 30
        for proc in list(self.procs.values()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                kill_group(proc, signal.SIGKILL)
        sys.stderr.write(f'\n[loso] interrupted (signal {signum}); run the same command again to '
                         'resume\n')
        raise SystemExit(128 + signum)


def kill_group(proc: subprocess.Popen, sig) -> None:
    try:
        os.killpg(proc.pid, sig)  # the fold's own session: the step and all it started
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ['LOCK_FILE', 'StopOnSignal', 'WorkDirLock', 'kill_group']
