"""No process of a fold outlives tools/loso.py: a DDP fold (its train step, torchrun, 2 gloo
ranks) is running when tools/loso.py gets SIGTERM, SIGINT or SIGKILL; afterwards none of the
processes it started is alive and the work dir's lock is free again.

torchrun starts each rank in a session of its own, so before the watchdog a killed tools/loso.py
left the ranks training into the fold folder (and holding the rendezvous port)."""
import fcntl
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mer_clip.loso.watchdog import descendants

EPOCHS = '''
train_cfg = dict(max_epochs=50, val_interval=50)
'''


def _start_time(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return None
    rest = stat[stat.rfind(')') + 2:].split()
    return None if rest[0] == 'Z' else rest[19]


def _cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def _ranks(tree):
    return [p for p in tree if '--rank-worker' in _cmdline(p)
            and 'torch.distributed.run' not in _cmdline(p)]


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir('/proc') or torch.cuda.is_available(),
                    reason='Linux /proc and CPU (gloo) DDP')
@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],
                         ids=['SIGKILL', 'SIGTERM', 'SIGINT'])
def test_no_fold_process_survives_loso(sig, small_synthetic_config, tmp_path, repo_root):
    cfg = small_synthetic_config(EPOCHS)
    work = str(tmp_path / 'run')
    env = dict(os.environ, OMP_NUM_THREADS='1', MER_CLIP_WATCHDOG_GRACE='5')
    env.pop('PORT', None)
    log = open(tmp_path / 'loso.log', 'w')
    loso = subprocess.Popen(
        [sys.executable, 'tools/loso.py', cfg, '--work-dir', work, '--subjects', 's01',
         '--devices', '0,1', '--launcher-gpus-per-fold', '2', '--no-plots'],
        cwd=repo_root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 240
        while len(_ranks(descendants(loso.pid))) < 2:
            assert loso.poll() is None, open(tmp_path / 'loso.log').read()[-3000:]
            assert time.time() < deadline, 'the 2 DDP ranks never started'
            time.sleep(0.2)
        tree = {p: _start_time(p) for p in descendants(loso.pid)}
        assert len(tree) >= 4  # watchdog, torchrun, 2 ranks
        os.kill(loso.pid, sig)
        assert loso.wait(timeout=60) != 0
        deadline = time.time() + 60
        alive = tree
        while alive and time.time() < deadline:
            alive = {p: t for p, t in tree.items() if t is not None and _start_time(p) == t}
            time.sleep(0.2)
        assert not alive, {p: _cmdline(p) for p in alive}
        with open(osp.join(work, '.loso.lock'), 'a+') as lock:  # released with the last one
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        for pid in descendants(loso.pid) if loso.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        if loso.poll() is None:
            os.killpg(loso.pid, signal.SIGKILL)
        loso.wait()
