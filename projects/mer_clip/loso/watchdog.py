"""Run a command so that it, and every process it starts, dies with the caller.

    python watchdog.py CALLER_PID -- CMD [ARGS ...]

``tools/loso.py`` starts every step of a fold (``python -m mer_clip.loso fold JOB --step ...``, on
several devices -> torchrun -> one process per rank) and every in-process worker through this
watchdog. A signal to a process group is not enough: torchrun starts each rank in a session of
its own, so a killed torchrun, or a ``kill -9`` of ``tools/loso.py``, used to leave ranks training
into the fold folder after the work dir's lock was released (and holding the rendezvous port).
Here:

- ``PR_SET_CHILD_SUBREAPER``: descendants whose parent dies are re-parented to the watchdog, not to
  init, so every process the command ever starts stays in its process tree, whatever sessions or
  groups they make.
- ``PR_SET_PDEATHSIG`` (set by the caller before exec, and again here) sends SIGTERM to the
  watchdog when the caller dies, even by SIGKILL; ``getppid()`` is polled as a fallback.
- When the caller dies, on SIGTERM / SIGINT / SIGHUP, and when the command exits: every remaining
  descendant gets SIGTERM, then SIGKILL after ``MER_CLIP_WATCHDOG_GRACE`` seconds (default 10);
  the watchdog exits once all are gone, with the command's exit status.
- File descriptors the caller passes stay open here (and only here, the command does not inherit
  them): ``tools/loso.py`` passes its work-dir lock, so the work dir stays locked until the fold's
  last process is gone.

Linux only (``/proc`` and ``prctl``); elsewhere the command runs without the tree cleanup. Plain
standard library: it is run as a file, without importing mer_clip or torch.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_STOP = []


def _prctl(option: int, value: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> dict:
    """``{pid: state}`` of every process below ``root`` (read from /proc)."""
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(')') + 2:].split()  # the command name may hold spaces / parens
        children.setdefault(int(rest[1]), []).append((int(name), rest[0]))
    out, todo = {}, [root]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            if pid not in out:
                out[pid] = state
                todo.append(pid)
    return out


def _reap(child: int, status: dict) -> None:
    """Collect exited children (the command, and orphans re-parented to this subreaper)."""
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == child:
            status['rc'] = os.waitstatus_to_exitcode(st)


def _signal_all(sig, me: int) -> int:
    alive = [p for p, s in descendants(me).items() if s != 'Z']
    for pid in alive:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    return len(alive)


def stop_tree(me: int, child: int, status: dict, grace: float, give_up: float = 60.0) -> None:
    """SIGTERM every descendant, SIGKILL what is left after ``grace`` s, reap until none is left
    (or ``give_up`` s after the SIGKILLs, for a process stuck in the kernel; it is reported)."""
    deadline = time.monotonic() + grace
    sig = signal.SIGTERM
    last_sent = 0.0
    while True:
        _reap(child, status)
        left = descendants(me)
        if not left:
            return
        now = time.monotonic()
        if now > deadline + give_up:
            sys.stderr.write(f'[watchdog] processes {sorted(left)} did not end after SIGKILL\n')
            return
        if sig == signal.SIGTERM and now > deadline:
            sig = signal.SIGKILL
            last_sent = 0.0
        if now - last_sent > (0.5 if sig == signal.SIGKILL else grace):
            _signal_all(sig, me)  # again for processes started meanwhile
            last_sent = now
        time.sleep(0.05)


def main(argv) -> int:
    if '--' not in argv or argv.index('--') != 1 or len(argv) < 3:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    caller, cmd = int(argv[0]), argv[2:]
    grace = float(os.environ.get('MER_CLIP_WATCHDOG_GRACE', '10'))
    on_linux = os.path.isdir('/proc/self') and _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: _STOP.append(signum))
    if os.getppid() != caller:  # the caller died before the death signal was armed
        return 128 + signal.SIGTERM
    if not on_linux:
        proc = subprocess.Popen(cmd)
        while proc.poll() is None and not _STOP and os.getppid() == caller:
            time.sleep(0.2)
        if proc.poll() is None:
            proc.terminate()
        return proc.wait()
    me = os.getpid()
    child = subprocess.Popen(cmd).pid  # inherits stdout / stderr, not the passed descriptors
    status = {}
    while 'rc' not in status and not _STOP and os.getppid() == caller:
        _reap(child, status)
        time.sleep(0.1)
    stop_tree(me, child, status, grace)
    if 'rc' in status and not _STOP:
        return status['rc']
    return 128 + (_STOP[0] if _STOP else signal.SIGTERM)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
