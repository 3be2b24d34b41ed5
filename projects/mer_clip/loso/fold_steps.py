"""Running a fold job: its train and test steps, in this process or as ``python -m``.

The steps of a :class:`~.fold_job.FoldJob` are the same in every fold mode: ``train`` (mmengine's
Runner through :func:`mer_clip.apis.training.train`, resuming from the fold's last complete
checkpoint; on several devices under torchrun), then ``test`` (or ``test:<split>``) on the
checkpoint the rule picked (:mod:`.fold_files`), its predictions written atomically; after the
last test, ``fold.json``. Each step's output goes to its log in the fold folder (``train.out``,
``test.out``, ``test_<split>.out``).

    python -m mer_clip.loso fold FOLD_JOB.json                   # every step still needed
    python -m mer_clip.loso fold FOLD_JOB.json --step train --nproc 2   # DDP on 2 devices
    python -m mer_clip.loso fold --list jobs.txt --index 3       # a Slurm array task

Run as a command, a step holds the fold's lock (``fold_<value>/.fold.lock``), so two runs of one
fold never train into the same folder (two array tasks of a resubmitted LOSO, say).
"""
import argparse
import contextlib
import fcntl
import gc
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import traceback
from typing import Callable, List, Optional

from ..apis.testing import test
from ..apis.training import train
from ..evaluation import NonFiniteScoreError
from ..utils.atomic_write import errors_name
from ..utils.cli import USER_ERRORS, add_debug_argument, error_line, run_tool
from ..utils.reproducible import (pinned_environ, process_differences, process_record,
                                  require_pinned)
from .fold_files import (FoldFailed, check_trained, finish_fold, is_done, mark_trained,
                         pending_steps, prediction_file, record_process, record_seconds,
                         tested_checkpoint)
from .fold_job import JOB_FILE, FoldJob
from .mmengine_state import release_run_state, run_state_names

FOLD_LOCK = '.fold.lock'


def step_log(job: FoldJob, step: str) -> str:
    """``train.out``, ``test.out`` or ``test_<split>.out`` in the fold folder."""
    return osp.join(job.work_dir, step.replace('test:', 'test_') + '.out')


def step_split(step: str) -> Optional[str]:
    return step.partition(':')[2] or None


def run_step(job: FoldJob, step: str, nproc: int = 1, job_file: Optional[str] = None) -> None:
    """One step of the fold, its output on this process's stdout; raises FoldFailed.
    ``nproc > 1`` trains under torchrun, one rank per device (``job_file``: the job's file)."""
    if job.reproducible:  # a process without the pins would compute other numbers: refuse
        require_pinned(f'fold {job.name} ({step})')
    record_process(job, step.replace(':', ' '), process_record())
    t0 = time.time()
    if step == 'train':
        if nproc > 1:
            _train_distributed(job, nproc, job_file or osp.join(job.work_dir, JOB_FILE))
        else:
            train(job.train_config())
        mark_trained(job)
    elif step.startswith('test'):
        split = step_split(step)
        final = prediction_file(job, split)
        tmp = final + '.part'
        checkpoint = tested_checkpoint(job)
        try:
            test(job.test_config(split), checkpoint, dump=tmp)
        except NonFiniteScoreError as e:  # name the epoch: the checkpoint tested
            raise NonFiniteScoreError(f'testing {osp.basename(checkpoint)}: {e}') from e
        if not osp.exists(tmp):
            raise FoldFailed(f'{job.name}: the test step did not write {tmp}')
        with errors_name(final):
            os.replace(tmp, final)  # atomic: predictions exist only complete
    else:
        raise ValueError(f'unknown fold step {step!r} (train, test or test:<split>)')
    record_seconds(job, step.replace(':', ' '), time.time() - t0)
    if step != 'train' and is_done(job):
        finish_fold(job)


def _train_distributed(job: FoldJob, nproc: int, job_file: str) -> None:
    """torchrun, ``nproc`` ranks on this node, each running this module's rank worker."""
    port = launch_port()
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1',
           f'--nproc_per_node={nproc}', '--master_addr=127.0.0.1', f'--master_port={port}',
           '-m', 'mer_clip.loso', 'fold', job_file, '--step', 'train', '--rank-worker']
    print(f'$ {" ".join(cmd)}', flush=True)
    status = subprocess.call(cmd)
    if status:
        raise FoldFailed(f'{job.name}: torchrun exited with {status}')


def launch_port(slot: int = 0) -> int:
    """The DDP rendezvous port of a fold starting now in ``slot``: ``PORT + slot`` when the user
    set ``PORT`` (checked to be free), otherwise a port the OS reports free."""
    base = os.environ.get('PORT')
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if base:
            port = int(base) + slot
            try:
                sock.bind(('', port))
            except OSError as e:
                raise FoldFailed(f'PORT={base}: port {port} (PORT + slot {slot}) is in use ({e}); '
                                 'another job on this node? Set PORT to a free port, or unset it '
                                 'to let tools/loso.py pick free ones') from None
            return port
        sock.bind(('', 0))
        return sock.getsockname()[1]


def run_step_in_process(job: FoldJob, step: str) -> None:
    """:func:`run_step` with its output appended to the step's log, mmengine's per-run singletons
    released afterwards (:mod:`.mmengine_state`); a failure raises FoldFailed: a user error
    (``mer_clip.utils.cli``) with its one line, written last in the log as a step process would
    (``error: ...``), anything else with the log's tail."""
    log_file = step_log(job, step)
    before = run_state_names()
    failed = None
    with open(log_file, 'a') as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        log.write(f'\n$ (in-process) fold {job.name}: {step}\n')
        log.flush()
        try:
            run_step(job, step)
        except FoldFailed as e:
            log.write(f'{error_line(e)}\n')
            failed = 'failed'
        except SystemExit as e:  # a library's sys.exit('message')
            if e.code not in (None, 0):
                failed = f'exited with {e.code}'
                if not isinstance(e.code, int):
                    log.write(f'{e.code}\n')
        except USER_ERRORS as e:  # the traceback for the record, the line for the user
            traceback.print_exc(file=log)
            log.write(f'{error_line(e)}\n')
            failed = 'failed'
        except Exception:  # noqa: BLE001 - reported with the fold, like a failed subprocess
            traceback.print_exc(file=log)
            failed = 'raised an exception'
        finally:
            release_run_state(before)
            gc.collect()
    if failed:
        reason = failure_reason(log_file)
        if reason:
            raise FoldFailed(f'fold {job.name}: {step}: {reason} (log: {log_file})')
        raise FoldFailed(f'{job.name}: {step} {failed} (in-process); see {log_file}:\n'
                         f'{tail(log_file)}')


def run_fold(job: FoldJob, log: Callable[[str], None] = print) -> None:
    """Every step the fold still needs, in this process (the in-process fold mode)."""
    os.makedirs(job.work_dir, exist_ok=True)
    note = check_trained(job)
    if note:
        log(f'fold {job.name}: {note}')
    for step in pending_steps(job):
        run_step_in_process(job, step)


@contextlib.contextmanager
def fold_lock(job: FoldJob):
    """Hold ``fold_<value>/.fold.lock`` for the block; another holder is a clear error."""
    os.makedirs(job.work_dir, exist_ok=True)
    with open(osp.join(job.work_dir, FOLD_LOCK), 'a+') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FoldFailed(f'{job.name}: another process is running this fold in '
                             f'{job.work_dir}; wait for it to end') from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def failure_reason(path: str) -> Optional[str]:
    """The one line of a user error that ended the last step in the log ``path`` (its last
    ``error: ...`` line, :mod:`mer_clip.utils.cli`, after the step's ``$ ...`` line), without
    ``error: ``; None when the step ended otherwise (a crash: its tail tells more)."""
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    reason = None
    for line in lines:
        if line.startswith('$ '):  # a step (or a run of it) starts: earlier errors are old
            reason = None
        elif line.startswith('error: '):
            reason = line[len('error: '):].strip() or None
    return reason


def tail(path: str, n: int = 25) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


def job_from_list(list_file: str, index: int) -> str:
    """Line ``index`` (from 0) of a list of job files (a Slurm array's task index)."""
    with open(list_file) as f:
        paths: List[str] = [line.strip() for line in f if line.strip()]
    if not 0 <= index < len(paths):
        raise IndexError(f'{list_file}: task index {index} is not one of its {len(paths)} fold '
                         'jobs')
    return paths[index]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Run the steps of one LOSO fold job')
    p.add_argument('job', nargs='?', help='the fold job (fold_<value>/fold_job.json)')
    p.add_argument('--list', help='a file of fold job paths, one a line (with --index)')
    p.add_argument('--index', type=int, help='which line of --list (default $SLURM_ARRAY_TASK_ID)')
    p.add_argument('--step', default='all', help='train, test, test:<split> or all (default: '
                   'every step the fold still needs)')
    p.add_argument('--nproc', type=int, default=1,
                   help='devices of the fold; > 1 trains with torchrun (DDP), one rank each')
    p.add_argument('--rank-worker', action='store_true', help=argparse.SUPPRESS)
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None, command: bool = False) -> None:
    """The ``fold`` command (``command``: this process is it, and may restart itself)."""
    args = parse_args(argv)
    job_file = args.job
    if args.list:
        index = args.index if args.index is not None else int(
            os.environ.get('SLURM_ARRAY_TASK_ID', '-1'))
        job_file = job_from_list(args.list, index)
    if not job_file:
        raise ValueError('give a fold job file, or --list FILE --index I')
    job = FoldJob.load(job_file)
    if job.reproducible and command and process_differences():
        # a job of a reproducible run started without its pins (a cluster array task): restart
        # with them, once (a second start without them is refused by run_step)
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, '-m', 'mer_clip.loso', 'fold', *argv],
                  pinned_environ())
    if job.cwd:
        os.chdir(job.cwd)
    if args.rank_worker:  # one rank under torchrun: the parent holds the lock and marks the end
        if job.reproducible:
            require_pinned(f'fold {job.name} (a torchrun rank)')
        train(job.train_config(launcher='pytorch'))
        return
    with fold_lock(job):
        if args.step == 'all':
            note = check_trained(job)
            if note:
                print(f'[loso] fold {job.name}: {note}', flush=True)
        steps = pending_steps(job) if args.step == 'all' else [args.step]
        for step in steps:
            print(f'[loso] fold {job.name}: {step}; log {step_log(job, step)}', flush=True)
            with output_to(step_log(job, step)):
                run_step(job, step, nproc=args.nproc, job_file=job_file)


@contextlib.contextmanager
def output_to(path: str):
    """This process's stdout and stderr (file descriptors 1 and 2, so torchrun's ranks too)
    appended to ``path`` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


def main(argv=None, command: bool = False) -> int:
    return run_tool(lambda a: run(a, command=command), argv)

