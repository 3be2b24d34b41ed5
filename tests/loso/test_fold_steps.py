"""Running a fold job (mer_clip/loso/fold_steps.py): ``python -m mer_clip.loso fold JOB`` gives the
same predictions as the in-process call, on several devices it trains under torchrun, and a fold
runs once at a time."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mer_clip.loso import FoldJob
from mer_clip.loso.fold_files import FoldFailed, is_done, pending_steps, prediction_file
from mer_clip.loso.fold_steps import fold_lock, job_from_list, run_fold, run_step
from mer_clip.utils.reproducible import ReproducibleModeError
from tests.conftest import SYNTHETIC_CONFIG
from tests.loso.test_loso_inprocess import make_flow_set, write_config

EPOCHS = 3


def _job(cfg, work_dir, held_out='b'):
    return FoldJob(config=cfg, work_dir=work_dir, seed=0, held_out=held_out,
                   cfg_options=[f'train_cfg.max_epochs={EPOCHS}', 'train_cfg.val_interval=10',
                                'param_scheduler.0.end=1'])


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=osp.dirname(
        osp.dirname(osp.abspath(__import__('mer_clip').__file__))))


def test_module_run_equals_in_process(tmp_path, repo_root):
    root = make_flow_set(str(tmp_path / 'data'))
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    here = _job(cfg, str(tmp_path / 'here' / 'fold_b'))
    run_fold(here)
    assert is_done(here) and pending_steps(here) == []
    there = _job(cfg, str(tmp_path / 'there' / 'fold_b'))
    path = there.save()
    out = subprocess.run([sys.executable, '-m', 'mer_clip.loso', 'fold', path], env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert 'fold b: train; log' in out.stdout and 'fold b: test; log' in out.stdout
    assert open(prediction_file(here), 'rb').read() == open(prediction_file(there), 'rb').read()
    info = json.load(open(osp.join(there.work_dir, 'fold.json')))
    assert info['held_out'] == 'b' and info['checkpoint'] == osp.join('fold_b', 'epoch_3.pth')
    assert set(info['seconds']) == {'train', 'test'}
    assert sorted(p for p in os.listdir(there.work_dir) if p.endswith('.pth')) == ['epoch_3.pth']
    # the step logs hold the steps' output; a second run finds nothing to do
    assert 'Epoch(train)' in open(osp.join(there.work_dir, 'train.out')).read()
    out = subprocess.run([sys.executable, '-m', 'mer_clip.loso', 'fold', '--list',
                          str(_list(tmp_path, [path])), '--index', '0'], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and 'train' not in out.stdout, out.stderr[-2000:]


def _list(tmp_path, paths):
    path = tmp_path / 'jobs.txt'
    path.write_text(''.join(p + '\n' for p in paths))
    return path


def test_job_list_index(tmp_path):
    path = _list(tmp_path, ['a.json', 'b.json'])
    assert job_from_list(str(path), 1) == 'b.json'
    with pytest.raises(IndexError, match='task index 2 is not one of its 2 fold jobs'):
        job_from_list(str(path), 2)


def test_a_fold_runs_once_at_a_time(tmp_path):
    job = FoldJob(config='x.py', work_dir=str(tmp_path / 'fold_a'), seed=0, held_out='a')
    with fold_lock(job):
        with pytest.raises(FoldFailed, match='another process is running this fold'):
            with fold_lock(job):
                pass
    with fold_lock(job):  # released
        pass


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU (gloo) DDP')
def test_two_ranks_under_torchrun(tmp_path, repo_root):
    root = make_flow_set(str(tmp_path / 'data'))
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    job = _job(cfg, str(tmp_path / 'run' / 'fold_b'))
    path = job.save()
    env = _env()
    env.pop('PORT', None)
    out = subprocess.run([sys.executable, '-m', 'mer_clip.loso', 'fold', path, '--nproc', '2'],
                         env=env, capture_output=True, text=True, timeout=600)
    log = open(osp.join(job.work_dir, 'train.out')).read()
    assert out.returncode == 0, out.stderr[-2000:] + log[-3000:]
    assert 'torch.distributed.run' in log and '--nproc_per_node=2' in log
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert is_done(job)


def test_failure_reason_is_the_last_steps_error_line(tmp_path):
    from mer_clip.loso.fold_steps import failure_reason
    log = tmp_path / 'train.out'
    assert failure_reason(str(log)) is None  # no log yet
    log.write_text('\n$ python -m mer_clip.loso fold J --step train\nerror: an old failure\n'
                   '\n$ (in-process) fold a: train\nTraceback (most recent call last):\n'
                   '  ...\nValueError: x\nerror: training diverged at epoch 3: x\n'
                   '(run again with --debug to see the traceback)\n')
    assert failure_reason(str(log)) == 'training diverged at epoch 3: x'
    with open(log, 'a') as f:  # a later run of the step that crashed without a user error
        f.write('\n$ (in-process) fold a: train\nSegmentation fault\n')
    assert failure_reason(str(log)) is None


def test_a_reproducible_fold_step_is_refused_in_an_unpinned_process(tmp_path):
    job = FoldJob(config=SYNTHETIC_CONFIG, work_dir=str(tmp_path / 'fold_s01'), seed=0,
                  held_out='s01', reproducible=True)
    with pytest.raises(ReproducibleModeError, match='fold s01 .train.'):
        run_step(job, 'train')  # was: trained with this process's kernels, silently
    assert not osp.exists(tmp_path / 'fold_s01' / 'train_done.json')
