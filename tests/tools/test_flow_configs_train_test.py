"""Every MEGC2019 flow config trains 2 epochs through tools/train.py and tests through
tools/test.py, on a tiny fabricated set of 28 x 28 flow PNGs (4 subjects, two without AUs as SMIC).

One subprocess runs the ten tool invocations (as ``python tools/<tool>.py ...`` would, through
runpy) so that the heavy imports are paid once."""
import csv
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mer_clip.datasets.annotation import dump_annotations, make_record
from mer_clip.datasets.flow_image import encode_flow_image, write_flow_image
from tests.conftest import REPO_ROOT

SCHEDULE = 'flow-28px_1xb32-40e_megc2019-3cls'
CONFIGS = [f'ststnet_{SCHEDULE}', f'off-apexnet_{SCHEDULE}', f'mer-clip_ststnet-{SCHEDULE}',
           f'mer-clip_ststnet-{SCHEDULE}_linear-head', f'mer-clip_ststnet-{SCHEDULE}_wo-align']
CLASSES = ['negative', 'positive', 'surprise']
AUS = {'negative': '4', 'positive': 'R12', 'surprise': '1+2'}
SUBJECTS = ['casme2/sub01', 'samm/006', 'smic/s01', 'smic/s02']  # SMIC: no AU labels
HELD_OUT = 'smic/s01'


def class_flow(label, rng):
    """A caricature of each class: brows down / lip corners up and out / brows up."""
    ys, xs = np.mgrid[0:28, 0:28].astype(np.float64)
    brows = np.exp(-((ys - 8) ** 2) / 8.0)
    mouth = np.exp(-((ys - 21) ** 2) / 6.0) * np.sign(xs - 13.5)
    u = np.zeros((28, 28))
    if label == 'negative':
        v = 0.6 * brows
    elif label == 'positive':
        u, v = 0.5 * mouth, -0.4 * np.abs(mouth)
    else:
        v = -1.0 * brows
    f = np.dstack([u, v, np.abs(np.gradient(v)[0]) + np.abs(np.gradient(u)[1])])
    return f + rng.normal(scale=0.05, size=f.shape) * [1, 1, 0.1]


@pytest.fixture(scope='module')
def flow_set(tmp_path_factory):
    root = tmp_path_factory.mktemp('flow_set')
    rng = np.random.default_rng(0)
    recs = []
    for subject in SUBJECTS:
        for k in range(6):
            label = CLASSES[k % 3]
            name = f'{subject.replace("/", "_")}_{k}'
            img, _ = encode_flow_image(class_flow(label, rng))
            write_flow_image(str(root / f'{name}.png'), img)
            aus = None if subject.startswith('smic') else AUS[label]
            recs.append(make_record(sample_id=name, subject=subject, emotion=label, aus=aus,
                                    au_list=None if aus else [], flow_image=f'{name}.png',
                                    dataset=subject.split('/')[0]))
    dump_annotations(recs, str(root / 'annotations.json'), dict(dataset_name='fabricated'))
    return str(root)


def test_each_flow_config_trains_and_tests_through_the_tools(flow_set, tmp_path):
    jobs = []
    for name in CONFIGS:
        cfg = tmp_path / f'{name}.py'
        cfg.write_text(f'''
_base_ = [{osp.join(REPO_ROOT, 'configs', 'megc2019', name + '.py')!r}]
_ds = dict(ann_file={osp.join(flow_set, 'annotations.json')!r},
           data_prefix=dict(img={flow_set!r}),
           class_scheme=dict(_delete_=True, name='megc2019_3', classes={CLASSES!r}))
train_dataloader = dict(batch_size=6, dataset=_ds)
val_dataloader = dict(batch_size=6, dataset=_ds)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1))
''')
        work = str(tmp_path / name)
        jobs.append((str(cfg), work))
    driver = f'''
import runpy, sys

def tool(path, *args):  # as `python tools/<tool>.py args`: its exit status must be 0
    sys.argv = [path, *args]
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as e:
        if e.code not in (None, 0):
            raise

for cfg, work in {jobs!r}:
    tool('tools/train.py', cfg, '--loso-subject', {HELD_OUT!r}, '--work-dir', work)
    print('TRAINED', cfg, flush=True)
    tool('tools/test.py', cfg, work + '/epoch_2.pth', '--loso-subject', {HELD_OUT!r},
         '--work-dir', work, '--dump', work + '/preds.csv')
    print('TESTED', cfg, flush=True)
'''
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg',
               PYTHONPATH=osp.join(REPO_ROOT, 'projects'))
    out = subprocess.run([sys.executable, '-c', driver], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert log.count('TESTED') == len(CONFIGS)
    for name, (_, work) in zip(CONFIGS, jobs):
        assert sorted(osp.basename(p) for p in glob.glob(osp.join(work, '*.pth'))) == \
            ['epoch_2.pth']  # one checkpoint per run (flow_runtime.py)
        rows = list(csv.DictReader(open(osp.join(work, 'preds.csv'))))
        assert len(rows) == 6 and {r['subject'] for r in rows} == {HELD_OUT}
        scalars = [json.loads(line) for f in glob.glob(osp.join(work, '*', 'vis_data',
                                                                  'scalars.json'))
                   for line in open(f)]
        train = [r for r in scalars if 'loss' in r]
        assert len(train) == 6 and all(np.isfinite(r['loss']) for r in train)  # 3 iters x 2
        if name in CONFIGS[2:4]:  # MER-CLIP and its linear-head ablation align AUs and text
            # 18 training samples, 6 of them SMIC (no AUs): masked out of the contrastive loss
            assert sum(r['clip_samples'] for r in train if r['epoch'] == 1) == 12
        else:
            assert 'clip_samples' not in train[0]
    assert '| mer/UF1 |' in log
