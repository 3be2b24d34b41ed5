"""The in-process fold mode of tools/loso.py (mer_clip/loso/inprocess.py), STSTNet on a tiny
fabricated flow set (3 subjects x 6 images):

- its predictions equal the subprocess mode's, for a fold that runs first in a worker and for one
  that runs after another fold in the same worker (no state leaks from fold to fold);
- killed (SIGKILL of tools/loso.py) in the middle of a fold, no process survives, the work dir is
  unlocked, and the restarted command finishes with the same predictions (exact resume);
- mmengine's per-run singletons of a step are released (no log written into another fold's file).
"""
import fcntl
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mer_clip.datasets.annotation import dump_annotations, make_record
from mer_clip.datasets.flow_image import encode_flow_image, write_flow_image
from mer_clip.loso.watchdog import descendants
from tests.loso.test_loso_watchdog import _start_time

CLASSES = ['negative', 'positive', 'surprise']
SUBJECTS = ['a', 'b', 'c']
EPOCHS = 8


def make_flow_set(root, subjects=SUBJECTS, per_subject=6, seed=0):
    """28 x 28 flow PNGs with a class signal in v; ``<root>/annotations.json``."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(seed)
    recs = []
    for s in subjects:
        for k in range(per_subject):
            label = CLASSES[k % 3]
            f = rng.normal(scale=0.3, size=(28, 28, 3))
            f[8:12, :, 1] += (1.0, -1.0, -2.0)[k % 3]
            f[..., 2] = np.abs(f[..., 2])
            name = f'{s}_{k}.png'
            write_flow_image(osp.join(root, name), encode_flow_image(f)[0])
            recs.append(make_record(sample_id=f'{s}_{k}', subject=s, emotion=label,
                                    aus=None, au_list=[], flow_image=name))
    dump_annotations(recs, osp.join(root, 'annotations.json'))
    return str(root)


def write_config(path, root, repo_root):
    ann = osp.join(root, 'annotations.json')
    base = osp.join(repo_root, 'configs', 'megc2019',
                    'ststnet_flow-28px_1xb32-40e_megc2019-3cls.py')
    path.write_text(f'''
_base_ = [{base!r}]
_ds = dict(ann_file={ann!r}, data_prefix=dict(img={root!r}),
           class_scheme=dict(_delete_=True, name='megc2019_3', classes={CLASSES!r}))
train_dataloader = dict(batch_size=4, dataset=_ds)
val_dataloader = dict(batch_size=4, dataset=_ds)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={EPOCHS}, val_interval={EPOCHS})
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end={EPOCHS})]
default_hooks = dict(logger=dict(interval=1))
''')
    return str(path)


def loso(repo_root, cfg, work, subjects, mode, log):
    env = dict(os.environ, OMP_NUM_THREADS='1', MER_CLIP_WATCHDOG_GRACE='3')
    return subprocess.Popen(
        [sys.executable, 'tools/loso.py', cfg, '--work-dir', work, '--subjects', *subjects,
         '--seed', '3', '--no-plots', '--fold-mode', mode], cwd=repo_root, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(proc, log_path, timeout=300):
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert rc == 0, open(log_path).read()[-4000:]


def predictions(work, subject):
    return open(osp.join(work, f'fold_{subject}', 'predictions.csv'), 'rb').read()


@pytest.mark.skipif(not osp.isdir('/proc'), reason='Linux /proc (watchdog)')
def test_inprocess_equals_subprocess_and_resumes_after_sigkill(tmp_path, repo_root):
    root = make_flow_set(str(tmp_path / 'data'))
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    ref, run = str(tmp_path / 'ref'), str(tmp_path / 'run')
    ref_log, run_log = tmp_path / 'ref.log', tmp_path / 'run.log'
    # reference: folds b and c, each step a fresh process
    p_ref = loso(repo_root, cfg, ref, ['b', 'c'], 'subprocess', open(ref_log, 'w'))
    # in-process: a, b, c in one worker; killed while b trains
    p_run = loso(repo_root, cfg, run, SUBJECTS, 'inprocess', open(run_log, 'w'))
    fold_b = osp.join(run, 'fold_b')
    deadline = time.time() + 300
    while not glob.glob(osp.join(fold_b, '*', '*.log')) or 'Epoch(train)' not in open(
            sorted(glob.glob(osp.join(fold_b, '*', '*.log')))[-1]).read():
        assert p_run.poll() is None, open(run_log).read()[-4000:]
        assert time.time() < deadline, 'fold b never started training'
        time.sleep(0.1)
    tree = {p: _start_time(p) for p in descendants(p_run.pid)}
    assert len(tree) >= 2  # watchdog + worker
    os.kill(p_run.pid, signal.SIGKILL)
    p_run.wait()
    deadline, alive = time.time() + 60, tree
    while alive and time.time() < deadline:
        alive = {p: t for p, t in tree.items() if t is not None and _start_time(p) == t}
        time.sleep(0.2)
    assert not alive, 'a process of the killed run survived'
    with open(osp.join(run, '.loso.lock'), 'a+') as lock:  # released with the last process
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert osp.exists(osp.join(run, 'fold_a', 'predictions.csv'))
    assert not osp.exists(osp.join(fold_b, 'predictions.csv'))

    # restarted: a is skipped, b runs first in the new worker, c after it
    p_run2 = loso(repo_root, cfg, run, SUBJECTS, 'inprocess', open(tmp_path / 'run2.log', 'w'))
    _wait(p_run2, tmp_path / 'run2.log')
    _wait(p_ref, ref_log)
    assert '1 of 3 folds already done' in open(tmp_path / 'run2.log').read()
    assert predictions(run, 'b') == predictions(ref, 'b')
    assert predictions(run, 'c') == predictions(ref, 'c')
    info = json.load(open(osp.join(run, 'fold_c', 'fold.json')))
    assert info['fold_mode'] == 'inprocess' and set(info['seconds']) == {'train', 'test'}
    assert json.load(open(osp.join(ref, 'fold_c', 'fold.json')))['fold_mode'] == 'subprocess'
    # each fold's mmengine log holds its own training only (one run-state per step)
    for s, other in (('b', 'fold_c'), ('c', 'fold_b')):
        text = ''.join(open(p).read() for p in glob.glob(osp.join(run, f'fold_{s}', '2*', '*.log')))
        assert f'Epoch(train) [{EPOCHS}]' in text and other not in text
    summary = json.load(open(osp.join(run, 'summary.json')))
    assert summary['num_folds'] == 3 and summary['seeds']['base'] == 3


def test_release_run_state_closes_loggers():
    from mmengine.logging import MessageHub, MMLogger

    from mer_clip.loso.mmengine_state import release_run_state, run_state_names
    before = run_state_names()
    logger = MMLogger.get_instance('i14_test_logger', log_file=None)
    MessageHub.get_instance('i14_test_hub')
    release_run_state(before)
    assert not MMLogger.check_instance_created('i14_test_logger')
    assert not MessageHub.check_instance_created('i14_test_hub')
    assert logger.handlers == []
    assert run_state_names()[MMLogger] == before[MMLogger]
