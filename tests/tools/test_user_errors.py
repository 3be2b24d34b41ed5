"""The tools end a user error with one clear line (``error: ...``), the traceback behind --debug;
checkpoints reach tools/test.py through the safe reader (a cut-off file is named, not a raw
zip error), and train.py --resume repairs a damaged resume point as tools/loso.py does."""
import importlib.util
import os
import os.path as osp
import runpy
import subprocess
import sys

import torch

from mer_clip.checkpoint import save_checkpoint
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG

ENV = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg')


def _tool(*args, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_test_py_with_a_cut_off_checkpoint(small_synthetic_config, tmp_path):
    cfg = small_synthetic_config()
    ckpt = str(tmp_path / 'epoch_3.pth')
    torch.save({'state_dict': {'w': torch.ones(4000)}, 'meta': {}}, ckpt)
    data = open(ckpt, 'rb').read()
    open(ckpt, 'wb').write(data[:len(data) // 2])
    out = _tool('tools/test.py', cfg, ckpt, '--loso-subject', 's01', '--work-dir',
                str(tmp_path / 'w'))
    assert out.returncode == 2, out.stderr[-3000:]
    lines = out.stderr.strip().splitlines()
    assert lines[-2].startswith('error: ') and 'epoch_3.pth: not a complete checkpoint' in \
        lines[-2] and lines[-1].startswith('(run again with --debug')
    assert 'Traceback' not in out.stderr and 'zipfile' not in lines[-2]


def test_tools_without_a_runner_fail_in_one_line(tmp_path, capsys):
    """In-process (``main`` is what ``python tools/...`` runs; a subprocess pays the imports)."""
    prepare = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'data', 'prepare_dataset.py'))['main']
    assert prepare(['samm', str(tmp_path / 'nothing'), str(tmp_path / 'out'),
                    '--no-progress']) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and err.splitlines()[-2].startswith('error: no samm annotation')
    check = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'data', 'check_dataset.py'))['main']
    assert check([str(tmp_path / 'nope.json'), '--debug']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'nope.json: annotation file not found' in err
    assert 'Traceback' in err  # --debug: after the line


def test_train_py_stops_a_diverged_run_in_one_line(tmp_path):
    """lr 1e6 on the tiny STSTNet: the loss is NaN from epoch 3 (CheckInvalidLossHook); before,
    training went on and exited 0 with NaN weights."""
    from tests.loso.test_loso_inprocess import make_flow_set, write_config
    cfg = write_config(tmp_path / 'cfg.py', make_flow_set(str(tmp_path / 'data')), REPO_ROOT)
    out = _tool('tools/train.py', cfg, '--loso-subject', 'a', '--work-dir', str(tmp_path / 'w'),
                '--cfg-options', 'optim_wrapper.optimizer.lr=1e6')
    assert out.returncode == 2, out.stderr[-3000:]
    lines = out.stderr.strip().splitlines()
    assert lines[-2] == ('error: training diverged at epoch 3, iteration 1 of 3: the loss is not '
                         'finite (loss=nan, loss_cls=nan); lower the learning rate '
                         '(optim_wrapper.optimizer.lr, now 1e+06) and train again')
    assert lines[-1].startswith('(run again with --debug') and 'Traceback' not in out.stderr
    assert not osp.exists(str(tmp_path / 'w' / 'epoch_3.pth'))


def _train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', osp.join(REPO_ROOT, 'tools',
                                                                         'train.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_train_resume_repairs_a_damaged_resume_point(tmp_path):
    """The repair used to exist only in tools/loso.py; train.py --resume met a raw error."""
    tool = _train_tool()
    work = str(tmp_path / 'work')
    os.makedirs(work)
    for epoch in (1, 2):
        save_checkpoint({'meta': {'epoch': epoch}, 'state_dict': {'w': torch.ones(999)}},
                        osp.join(work, f'epoch_{epoch}.pth'))
    data = open(osp.join(work, 'epoch_2.pth'), 'rb').read()
    open(osp.join(work, 'epoch_2.pth'), 'wb').write(data[:len(data) // 3])
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    args = tool.parse_args([osp.join(REPO_ROOT, SYNTHETIC_CONFIG), '--resume', '--work-dir', work])
    cfg = tool.merge_args(tool.config_from_args(args), args)
    from mer_clip.apis.training import repair_auto_resume
    repair_auto_resume(cfg)
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, 'epoch_1.pth')
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
