"""A config typo or a head that does not fit the data ends tools/train.py, test.py and loso.py at
start with exit 2 and one ``error:`` line (mer_clip.apis.config_check), before anything trains.

Before the check: ``modle`` trained the base model (exit 0), ``num_clases`` / ``max_epoch`` were a
TypeError traceback of the Runner, and a 5-class head on the 3-class set trained (train.py exit 0;
loso.py trained every fold, then failed in the report). The configs here train one epoch, so those
old behaviours finish quickly when the tests are run against the code from before.
"""
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

ONE_EPOCH = 'train_cfg = dict(max_epochs=1, val_interval=1)\n'
ENV = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg')


def _main(tool: str):
    return runpy.run_path(osp.join(REPO_ROOT, 'tools', tool))['main']


def _error_line(err: str) -> str:
    """The tool's one error line (followed by the --debug note), with no traceback."""
    lines = err.strip().splitlines()
    assert 'Traceback' not in err, err[-3000:]
    assert lines[-1].startswith('(run again with --debug'), err[-3000:]
    assert lines[-2].startswith('error: '), err[-3000:]
    return lines[-2]


def test_train_py_with_a_misspelt_top_level_key_exits_2_in_one_line(small_synthetic_config,
                                                                    tmp_path):
    cfg = small_synthetic_config(ONE_EPOCH + 'modle = dict(cls_head=dict(num_classes=5))\n')
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--loso-subject', 's01',
                          '--work-dir', str(work)], cwd=REPO_ROOT, env=ENV, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 2, out.stderr[-3000:]
    assert _error_line(out.stderr).startswith(
        f"error: {cfg}: top-level 'modle' is read by nothing; did you mean 'model'?")
    assert not work.exists()  # nothing started


@pytest.mark.parametrize('option, line', [
    ('modle.cls_head.num_classes=5', "--cfg-options sets 'modle', which the config does not "
     "define and nothing reads; did you mean 'model'?"),
    ('model.cls_head.num_clases=5',
     "model.cls_head: unexpected 'num_clases'; did you mean 'num_classes'?"),
    ('train_cfg.max_epoch=1', "train_cfg: unexpected 'max_epoch'; did you mean 'max_epochs'?"),
])
def test_train_py_with_a_typo_in_cfg_options(small_synthetic_config, tmp_path, capsys, option,
                                             line):
    cfg = small_synthetic_config(ONE_EPOCH)
    work = tmp_path / 'work'
    assert _main('train.py')([cfg, '--loso-subject', 's01', '--work-dir', str(work),
                              '--cfg-options', option]) == 2
    assert _error_line(capsys.readouterr().err).startswith(f'error: {cfg}: {line}')
    assert not work.exists()


FIVE = 'model.cls_head.num_classes=5'
COUNT = ("model.cls_head.num_classes is 5, but the class scheme 'synthetic_3' of the datasets "
         'has 3 classes (negative, positive, surprise): set model.cls_head.num_classes=3')


def test_a_5_class_head_on_the_3_class_set_stops_train_py_at_start(small_synthetic_config,
                                                                   tmp_path, capsys):
    cfg = small_synthetic_config(ONE_EPOCH)
    work = tmp_path / 'work'
    assert _main('train.py')([cfg, '--loso-subject', 's01', '--work-dir', str(work),
                              '--cfg-options', FIVE]) == 2
    assert _error_line(capsys.readouterr().err).startswith(f'error: {cfg}: {COUNT}')
    assert not work.exists()


def test_a_5_class_head_stops_test_py_before_its_checkpoint_is_read(small_synthetic_config,
                                                                    tmp_path, capsys):
    cfg = small_synthetic_config(ONE_EPOCH)
    ckpt = str(tmp_path / 'epoch_1.pth')  # never read: the config is refused first
    assert _main('test.py')([cfg, ckpt, '--loso-subject', 's01', '--work-dir',
                             str(tmp_path / 'work'), '--cfg-options', FIVE]) == 2
    assert _error_line(capsys.readouterr().err).startswith(f'error: {cfg}: {COUNT}')


def test_a_5_class_head_stops_loso_py_before_any_fold(small_synthetic_config, tmp_path, capsys):
    cfg = small_synthetic_config(ONE_EPOCH)
    work = tmp_path / 'work'
    assert _main('loso.py')([cfg, '--work-dir', str(work), '--subjects', 's01', '--fold-mode',
                             'inprocess', '--no-plots', '--cfg-options', FIVE]) == 2
    assert _error_line(capsys.readouterr().err).startswith(f'error: {cfg}: {COUNT}')
    assert not work.exists()  # no fold folder, no loso_run.json
