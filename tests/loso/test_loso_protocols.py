"""A whole leave-one-dataset-out run of the tiny synthetic MER-CLIP (real training, 1 epoch per
fold), reported like LOSO plus per-dataset metrics; and the plan of a LODO / key-based
experiment."""
import io
import json
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.loso import LOSOExperiment
from tests.conftest import SYNTHETIC_CONFIG
from tests.datasets.test_protocol import _with_datasets


def test_lodo_plan_and_fold_commands(synthetic_root, tmp_path, in_repo, data_options):
    opts = data_options(synthetic_root, _with_datasets(synthetic_root, tmp_path))
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), cfg_options=opts,
                         protocol='lodo')
    folds = exp.plan()
    assert [f.name for f in folds] == ['alpha', 'beta', 'gamma']
    assert exp.fold_list.fold_key == 'dataset'
    assert exp.fold_list.title == 'leave-one-dataset-out'
    assert len(exp.fold_list.subjects) == 4
    assert (folds[1].fold_key, folds[1].held_out) == ('dataset', 'beta')
    ds = folds[1].train_config().train_dataloader.dataset
    assert (ds.fold_key, ds.held_out, ds.get('loso_subject')) == ('dataset', 'beta', None)
    assert folds[1].work_dir.endswith('fold_beta')
    # a config that names its fold key runs that protocol without --protocol
    by_cfg = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r1'),
                            cfg_options=opts + ['test_dataloader.dataset.fold_key=dataset'])
    assert [f.name for f in by_cfg.plan()] == ['alpha', 'beta', 'gamma']
    # a record field without a value in some records cannot define folds
    with pytest.raises(ValueError, match="no 'session' field"):
        LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r2'), cfg_options=opts,
                       protocol='session').plan()
    # a work dir of a LOSO run is not resumed as a LODO run
    loso = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r3'), cfg_options=opts)
    loso.plan()
    import os
    os.makedirs(loso.work_dir)
    loso.prepare_work_dir()
    lodo = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r3'), cfg_options=opts,
                          protocol='lodo')
    with pytest.raises(RuntimeError, match="protocol was 'loso', now 'lodo'"):
        lodo.prepare_work_dir()


def test_leave_one_dataset_out_run(synthetic_root, tmp_path, in_repo, data_options, repo_root):
    opts = data_options(synthetic_root, _with_datasets(synthetic_root, tmp_path)) + [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    work = str(tmp_path / 'lodo')
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts, seed=0, protocol='lodo',
                         device_groups=[None] * 3, progress_stream=io.StringIO(),
                         fold_mode='inprocess')  # subprocess mode: test_loso_resume
    summary = exp.run()
    assert summary.protocol == 'loso' and summary.fold_key == 'dataset'
    assert summary.num_folds == 3 and [f['fold'] for f in summary.per_fold] == [
        'alpha', 'beta', 'gamma']
    n = summary.pooled['num_samples']
    assert n == 24  # every sample tested exactly once
    per_ds = summary.per_dataset
    assert list(per_ds) == ['alpha', 'beta', 'gamma']
    assert [per_ds[d]['num_samples'] for d in per_ds] == [12, 6, 6]
    # a LODO fold's test set is one dataset: its per-dataset block is that fold's metrics
    folds = {f['fold']: f for f in summary.per_fold}
    assert per_ds['beta']['UF1'] == pytest.approx(folds['beta']['UF1'])
    md = open(osp.join(work, 'summary.md')).read()
    assert 'leave-one-dataset-out (3 folds by `dataset`' in md and '| dataset beta |' in md
    with open(osp.join(work, 'predictions.csv')) as f:
        header = f.readline().strip().split(',')
        rows = [ln.strip().split(',') for ln in f]
    assert header[-1] == 'dataset' and {r[-1] for r in rows} == {'alpha', 'beta', 'gamma'}
    with open(osp.join(work, 'fold_beta', 'fold.json')) as f:
        assert json.load(f)['held_out'] == 'beta'
    out = subprocess.run([sys.executable, osp.join(repo_root, 'tools', 'compare_runs.py'), work,
                          work], capture_output=True, text=True, check=True).stdout
    assert '## Headline (dataset gamma)' in out and '## Headline (pooled)' in out
