"""Fold protocols: LOSO (subject), leave-one-dataset-out, any record key; one module for the
dataset, the fold enumeration, the runner and the tools."""
import json
import os.path as osp

import pytest
from mmengine.config import Config, ConfigDict

from mer_clip.datasets import MicroExpressionDataset
from mer_clip.datasets.protocol import (apply_fold, fold_values, get_protocol, select_fold,
                                        set_fold)
from tests.conftest import load_tool

RECS = [dict(sample_id=f'{d}_{s}_{i}', subject=f'{d}_{s}', dataset=d)
        for d, subjects in (('smic', 's01 s02'), ('casme2', 'sub01'), ('samm', '006 007'))
        for s in subjects.split() for i in range(2)]


def test_protocol_names():
    assert get_protocol().key == 'subject' and get_protocol('loso').title == 'leave-one-subject-out'
    lodo = get_protocol('lodo')
    assert (lodo.name, lodo.key, lodo.title) == ('lodo', 'dataset', 'leave-one-dataset-out')
    assert get_protocol('leave-one-dataset-out') == lodo == get_protocol('dataset')
    assert get_protocol('session').key == 'session'
    with pytest.raises(ValueError, match='cannot define folds'):
        get_protocol('emotion')
    with pytest.raises(ValueError, match='loso'):
        get_protocol('two words')


def test_select_fold_by_any_key():
    assert fold_values(RECS, 'dataset') == ['casme2', 'samm', 'smic']
    assert fold_values(RECS, 'subject')[:2] == ['casme2_sub01', 'samm_006']
    test = select_fold(RECS, 'dataset', 'samm', 'test')
    train = select_fold(RECS, 'dataset', 'samm', 'train')
    assert {r['dataset'] for r in test} == {'samm'} and len(test) == 4
    assert len(train) == 6 and 'samm' not in {r['dataset'] for r in train}
    assert select_fold(RECS, 'dataset', 'samm', 'all') == RECS
    with pytest.raises(ValueError, match=r"held-out dataset 'dfme' has no sample; the values "
                                         r"with samples are \['casme2', 'samm', 'smic'\]"):
        select_fold(RECS, 'dataset', 'dfme', 'test')
    with pytest.raises(ValueError, match="has no 'sex' field"):
        fold_values(RECS, 'sex')


def test_set_fold_and_tool_options():
    def cfg():
        ds = dict(type='MicroExpressionDataset', loso_subject=None)
        return ConfigDict(train_dataloader=dict(dataset=dict(ds)),
                          test_dataloader=dict(dataset=dict(type='RepeatDataset', times=2,
                                                            dataset=dict(ds))))
    c = cfg()
    set_fold(c, 'dataset', 'samm')
    for ds in (c.train_dataloader.dataset, c.test_dataloader.dataset.dataset):
        assert (ds.fold_key, ds.held_out, ds.loso_subject) == ('dataset', 'samm', None)
    set_fold(c, 'subject', 7)  # back to LOSO: exactly what --loso-subject always set
    assert c.train_dataloader.dataset == dict(type='MicroExpressionDataset', loso_subject='7')
    c = cfg()
    apply_fold(c, fold_key='lodo', held_out='smic')
    assert c.train_dataloader.dataset.fold_key == 'dataset'
    c = cfg()
    c.test_dataloader.dataset.dataset.fold_key = 'dataset'  # the config names its protocol
    apply_fold(c, held_out='samm')
    assert c.train_dataloader.dataset.held_out == 'samm'
    assert c.train_dataloader.dataset.fold_key == 'dataset'
    with pytest.raises(ValueError, match='either --loso-subject or --fold-key/--held-out'):
        apply_fold(cfg(), loso_subject='1', held_out='2')
    with pytest.raises(ValueError, match='--fold-key needs --held-out'):
        apply_fold(cfg(), fold_key='dataset')


def test_dataset_folds_by_dataset(synthetic_root, tmp_path):
    ann = _with_datasets(synthetic_root, tmp_path)
    kw = dict(ann_file=ann, class_scheme='synthetic_3', test_mode=True)
    test = MicroExpressionDataset(**kw, fold_key='dataset', held_out='beta', split='test')
    train = MicroExpressionDataset(**kw, fold_key='dataset', held_out='beta', split='train')
    assert {test.get_data_info(i)['dataset'] for i in range(len(test))} == {'beta'}
    assert len(test) + len(train) == len(MicroExpressionDataset(**kw))
    assert 'beta' not in {train.get_data_info(i)['dataset'] for i in range(len(train))}
    # loso_subject keeps working and is the subject key's spelling
    subject = test.get_data_info(0)['subject']
    a = MicroExpressionDataset(**kw, loso_subject=subject, split='test')
    b = MicroExpressionDataset(**kw, fold_key='subject', held_out=subject, split='test')
    assert [a.get_data_info(i)['sample_id'] for i in range(len(a))] == [
        b.get_data_info(i)['sample_id'] for i in range(len(b))]
    with pytest.raises(ValueError, match='cannot be combined'):
        MicroExpressionDataset(**kw, loso_subject=subject, fold_key='dataset')
    with pytest.raises(ValueError, match="held-out dataset 'zeta' has no sample"):
        MicroExpressionDataset(**kw, fold_key='dataset', held_out='zeta', split='test')


def _with_datasets(synthetic_root, tmp_path):
    """The synthetic annotation with a ``dataset`` field: subjects 1-2 'alpha', 3 'beta', 4
    'gamma' (frames stay where they are: absolute data_prefix in the configs)."""
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        ann = json.load(f)
    subjects = sorted({r['subject'] for r in ann['data_list']})
    names = dict(zip(subjects, ['alpha', 'alpha', 'beta', 'gamma']))
    for r in ann['data_list']:
        r['dataset'] = names[r['subject']]
    path = tmp_path / 'joint.json'
    path.write_text(json.dumps(ann))
    return str(path)


def test_train_tool_accepts_fold_key(repo_root, monkeypatch):
    mod = load_tool('tools/train.py')
    monkeypatch.setattr('sys.argv', ['train.py', 'x.py', '--fold-key', 'dataset', '--held-out',
                                     'samm'])
    args = mod.parse_args()
    cfg = Config.fromfile(osp.join(repo_root, 'configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py'))
    apply_fold(cfg, args.loso_subject, args.fold_key, args.held_out)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.held_out == 'samm' and cfg[key].dataset.fold_key == 'dataset'
