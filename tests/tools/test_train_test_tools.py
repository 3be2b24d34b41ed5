"""End to end through the OpenMMLab entry points: tools/train.py, tools/test.py (resume included)
and tools/dist_train.sh with two gloo processes, on the tiny MER-CLIP and the synthetic set."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, free_port

ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg',
           PYTHON=sys.executable)


def run(args, timeout=600):
    out = subprocess.run(args, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f'{args}\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}'
    return out.stdout + out.stderr


def scalars(work_dir):
    """Training records of scalars.json (one per logged iteration)."""
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    rows = []
    for f in sorted(files):
        rows += [json.loads(line) for line in open(f)]
    return [r for r in rows if 'loss' in r]


def epoch_mean(rows, key, epoch):
    return float(np.mean([r[key] for r in rows if r['epoch'] == epoch]))


EPOCHS = '''
train_cfg = dict(max_epochs={n}, val_interval={n})
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end={n})]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
custom_hooks = [dict(type='RNGStateHook'),
                dict(type='ProgressiveLossHook', start=0.5, end=0.5, total=1.0)]
'''


@pytest.mark.slow
def test_train_lowers_losses_then_test_and_resume(small_synthetic_config, tmp_path):
    cfg = small_synthetic_config(EPOCHS.format(n=4))
    work = str(tmp_path / 'work')
    run([sys.executable, 'tools/train.py', cfg, '--loso-subject', 's01', '--work-dir', work])
    rows = scalars(work)
    for key in ('clip_raw', 'cls_raw'):
        assert epoch_mean(rows, key, 4) < epoch_mean(rows, key, 1), key
    assert osp.isfile(osp.join(work, 'epoch_4.pth'))

    # test: the table of headline numbers, and the per-sample dump of the held-out subject
    dump = str(tmp_path / 'preds.csv')
    out = run([sys.executable, 'tools/test.py', cfg, osp.join(work, 'epoch_4.pth'),
               '--loso-subject', 's01', '--work-dir', work, '--dump', dump])
    for name in ('mer/UF1', 'mer/UAR', 'mer/ACC'):
        assert f'| {name} |' in out
    lines = open(dump).read().splitlines()
    assert lines[0].startswith('sample_id,subject,gt,pred,score_negative')
    assert len(lines) == 1 + 6 and all(',s01,' in line for line in lines[1:])

    # resume: the same run extended to 5 epochs continues from epoch 4's checkpoint (loaded with
    # torch's weights_only=True through mer_clip.compat), it does not start over
    cfg5 = small_synthetic_config(EPOCHS.format(n=5), name='cfg5.py')
    out = run([sys.executable, 'tools/train.py', cfg5, '--loso-subject', 's01', '--work-dir', work,
               '--resume'])
    assert 'resumed epoch: 4' in out
    assert osp.isfile(osp.join(work, 'epoch_5.pth'))
    assert 'Epoch(train)  [1]' not in out.split('resumed epoch: 4')[1]


@pytest.mark.slow
def test_dist_train_two_gloo_processes(small_synthetic_config, tmp_path):
    cfg = small_synthetic_config(EPOCHS.format(n=3))
    work = str(tmp_path / 'ddp')
    env_port = dict(PORT=str(free_port()))
    ENV.update(env_port)
    out = run(['bash', 'tools/dist_train.sh', cfg, '2', '--loso-subject', 's02',
               '--work-dir', work])
    assert 'Distributed training: True' in out and 'GPU number: 2' in out, out[:3000]
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))
    rows = scalars(work)
    # 18 training clips, batch 6 per process on 2 processes: 2 iterations per epoch
    assert max(r['iter'] for r in rows if r['epoch'] == 1) == 2
    assert epoch_mean(rows, 'clip_raw', 3) < epoch_mean(rows, 'clip_raw', 1)
