"""How the fold scheduler (mer_clip/loso/scheduler.py) reports a failed fold, in one line naming
the fold: a fold step that cannot start (PORT taken) ends its fold there, with its own error
only; a fold whose training diverges (NaN loss) or whose model scores NaN fails tools/loso.py with
the epoch and the option to look at, in either fold mode, and no summary is written."""
import os
import os.path as osp
import runpy
import socket
import subprocess
import sys

import pytest

from mer_clip.loso.progress import Progress
from mer_clip.loso.scheduler import FoldScheduler
from mer_clip.utils.reproducible import ENV_PINS, MODE_ENV
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG
from tests.loso.test_loso_inprocess import make_flow_set, write_config


def test_one_failure_is_its_own_message_several_get_a_heading():
    from mer_clip.loso.scheduler import folds_failed
    assert str(folds_failed(['fold a: train: x (log: l)'])) == 'fold a: train: x (log: l)'
    assert str(folds_failed(['fold a: x', 'fold b: y'])) == '2 folds failed:\nfold a: x\nfold b: y'


# lr 1e6 on the tiny STSTNet: the loss is ~1e29 after epoch 2 and NaN from epoch 3, iteration 1
# (any seed); the weights of epoch 2 already score NaN (checked with seeds 0, 3, 7).
CASES = {
    'loss': ('inprocess', [], 'train: training diverged at epoch 3, iteration 1 of 3: the loss is '
             'not finite (loss=nan, loss_cls=nan); lower the learning rate '
             '(optim_wrapper.optimizer.lr, now 1e+06)', 'train.out'),
    'scores': ('subprocess', ['train_cfg.max_epochs=2', 'train_cfg.val_begin=100'],
               "test: testing epoch_2.pth: sample a_0 (subject 'a'): the class scores are not "
               'finite (nan, nan, nan): the model diverged in training. Lower the learning rate '
               '(optim_wrapper.optimizer.lr) or train without AMP,', 'test.out'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_a_diverged_fold_fails_in_one_line(tmp_path, repo_root, case):
    mode, opts, reason, log = CASES[case]
    root = make_flow_set(str(tmp_path / 'data'))
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    work = str(tmp_path / 'work')
    out = subprocess.run(
        [sys.executable, 'tools/loso.py', cfg, '--work-dir', work, '--subjects', 'a', 'b',
         '--seed', '3', '--no-plots', '--fold-mode', mode,
         '--cfg-options', 'optim_wrapper.optimizer.lr=1e6', *opts],
        cwd=repo_root, env=dict(os.environ, OMP_NUM_THREADS='1', MER_CLIP_WATCHDOG_GRACE='3'),
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
    lines = out.stderr.strip().splitlines()
    assert lines[-2] == (f'error: fold a: {reason} and train again (log: '
                         f'{osp.join(work, "fold_a", log)})'), out.stderr[-3000:]
    assert lines[-1].startswith('(run again with --debug')
    assert 'Traceback' not in out.stderr
    assert not osp.exists(osp.join(work, 'summary.json'))
    assert not osp.exists(osp.join(work, 'fold_a', 'predictions.csv'))
    assert not osp.exists(osp.join(work, 'fold_b', 'train.out'))  # no fold starts after it



def test_a_taken_port_is_the_only_error(synthetic_root, tmp_path, in_repo, data_options,
                                        monkeypatch, capsys):
    """tools/loso.py with PORT taken by another job: the DDP train step cannot start. It was
    followed by the fold's test step, whose 'cannot read .../train_done.json ... run the same
    command again to retrain the fold' was a second, misleading error."""
    main = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'loso.py'))['main']
    work = str(tmp_path / 'run')
    with socket.socket() as busy:
        busy.bind(('', 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv('PORT', str(port))
        status = main([SYNTHETIC_CONFIG, '--work-dir', work, '--subjects', 's01', '--devices',
                       '0,1', '--launcher-gpus-per-fold', '2', '--no-plots', '--cfg-options',
                       *data_options(synthetic_root)])
    err = capsys.readouterr().err
    assert status == 2
    assert f'error: fold s01: train could not start: PORT={port}: port {port} ' \
        '(PORT + slot 0) is in use' in err
    assert 'train_done.json' not in err and 'test exited' not in err, err
    assert sorted(os.listdir(osp.join(work, 'fold_s01'))) == ['fold_job.json']  # nothing ran
    assert '[loso] fold s01 FAILED (train could not start)' in err


def test_the_scheduler_gives_fold_processes_the_pins(tmp_path):
    progress = Progress(1, 1, stream=open(tmp_path / 'p.log', 'w'))
    pinned = FoldScheduler([None, None], progress, reproducible=True).env(None)
    assert {k: pinned[k] for k in ENV_PINS} == ENV_PINS and pinned[MODE_ENV] == '1'
    assert MODE_ENV not in FoldScheduler([None, None], progress).env(None)
