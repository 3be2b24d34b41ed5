"""Schedule selection by cross-fitting (mer_clip/loso/selection.py, tools/select_schedule.py):
subject groups stratified by dataset, the split of each group, the choice, and a tiny run."""
import json
import os.path as osp

import pytest

from mer_clip.datasets.annotation import load_annotations
from mer_clip.loso.selection import choose, group_annotation, setting_names, subject_groups
from tests.conftest import load_tool
from tests.loso.test_loso_inprocess import make_flow_set, write_config


def _records(n_per_ds):
    return [dict(subject=f'{ds}_{i}', dataset=ds, sample_id=f'{ds}_{i}_{k}')
            for ds, n in n_per_ds.items() for i in range(n) for k in range(2)]


def test_groups_are_stratified_disjoint_and_seeded():
    recs = _records(dict(casme2=24, samm=28, smic=16))  # the composite's 68 subjects
    groups = subject_groups(recs, k=5, seed=0)
    flat = [s for g in groups for s in g]
    assert len(flat) == len(set(flat)) == 68
    assert sorted(len(g) for g in groups) == [13, 13, 14, 14, 14]
    for ds, n in dict(casme2=24, samm=28, smic=16).items():
        counts = [sum(s.startswith(ds) for s in g) for g in groups]
        assert max(counts) - min(counts) <= 1 and sum(counts) == n
    assert subject_groups(recs, k=5, seed=0) == groups
    assert subject_groups(recs, k=5, seed=1) != groups
    with pytest.raises(ValueError, match='at least 10 subjects'):
        subject_groups(_records(dict(a=4)), k=5)
    with pytest.raises(ValueError, match='needs at least 3'):  # nothing left to train on
        subject_groups(_records(dict(a=8)), k=2)


def test_group_annotation_leaves_out_g_j_and_validates_on_the_next(tmp_path):
    from mer_clip.datasets.annotation import make_record
    recs = [make_record(sample_id=f'{s}_{k}', subject=s, emotion='negative', aus=None,
                        au_list=[], flow_image='x.png', dataset='smic')
            for s in 'abcdef' for k in range(2)]
    groups = [['a', 'b'], ['c', 'd'], ['e', 'f']]
    path = str(tmp_path / 'g2.json')
    assert group_annotation(recs, groups, 2, path) == dict(train=4, test=4)
    meta, out = load_annotations(path)
    assert {r['subject'] for r in out if r['split'] == 'test'} == {'a', 'b'}  # G_0 = G_(2+1)
    assert {r['subject'] for r in out if r['split'] == 'train'} == {'c', 'd'}
    assert meta['selection'] == dict(group=2, left_out=['e', 'f'], validation=['a', 'b'])


def test_choose_and_names():
    scores = {'lr=1': {'m1': {0: 0.5, 1: 0.6}, 'm2': {0: 0.5, 1: 0.2}},
              'lr=3': {'m1': {0: 0.4, 1: 0.5}, 'm2': {0: 0.7, 1: 0.2}}}
    assert choose(scores, 2) == {0: 'lr=3', 1: 'lr=1'}  # mean over the configs
    assert setting_names([['a.lr=1', 'e=4'], ['a.lr=3', 'e=4']]) == ['lr=1', 'lr=3']


def test_select_schedule_tool_on_a_tiny_set(tmp_path, repo_root, monkeypatch, capsys):
    root = make_flow_set(str(tmp_path / 'data'), subjects=[f's{i}' for i in range(6)],
                         per_subject=3)
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    tool = load_tool('tools/select_schedule.py')
    monkeypatch.chdir(repo_root)
    out = str(tmp_path / 'sel')
    epochs = 'train_cfg.max_epochs={e} train_cfg.val_interval={e} param_scheduler.0.end={e}'
    argv = [cfg, '--setting', epochs.format(e=1), '--setting', epochs.format(e=2),
            '--groups', '3', '--out', out]
    assert tool.main(argv) == 0
    result = json.load(open(osp.join(out, 'selection.json')))
    assert set(result['settings']) == {'max_epochs=1,val_interval=1,end=1',
                                       'max_epochs=2,val_interval=2,end=2'}
    assert set(result['chosen']) == {'0', '1', '2'}
    assert len(result['fold_settings']) == 6  # a setting for every subject's LOSO fold
    assert osp.exists(osp.join(out, 'selection.md'))
    # a second call reuses the finished runs
    capsys.readouterr()
    assert tool.main(argv) == 0
    assert json.load(open(osp.join(out, 'selection.json')))['scores'] == result['scores']


def test_loso_with_per_fold_options(tmp_path, repo_root, monkeypatch):
    """Per-fold options (the schedule chosen for each fold): each fold trains with its own
    max_epochs and is tested on its own last checkpoint; the options are recorded."""
    from mer_clip.loso import LOSOExperiment, RunStateMismatch
    root = make_flow_set(str(tmp_path / 'data'), subjects=['a', 'b', 'c'], per_subject=3)
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    monkeypatch.chdir(repo_root)
    one = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'param_scheduler.0.end=1']
    work = str(tmp_path / 'run')
    exp = LOSOExperiment(cfg, work, subjects=['a', 'b'], fold_cfg_options={'a': one},
                         fold_mode='inprocess', progress_stream=open(tmp_path / 'p.log', 'w'))
    summary = exp.run()
    assert json.load(open(osp.join(work, 'fold_a', 'fold.json')))['checkpoint'] == \
        osp.join('fold_a', 'epoch_1.pth')
    assert json.load(open(osp.join(work, 'fold_b', 'fold.json')))['checkpoint'] == \
        osp.join('fold_b', 'epoch_8.pth')
    assert summary.fold_cfg_options == {'a': one}
    assert 'per-fold options for 1 fold(s)' in open(osp.join(work, 'summary.md')).read()
    with pytest.raises(RunStateMismatch, match='fold_cfg_options'):
        LOSOExperiment(cfg, work, subjects=['a', 'b']).report()
    with pytest.raises(ValueError, match='does not have'):
        LOSOExperiment(cfg, work, fold_cfg_options={'zz': one}).plan()
