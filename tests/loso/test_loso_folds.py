"""Fold enumeration, fixed-split detection and the commands each fold runs (no training here)."""
import json
import os.path as osp

import pytest

from mer_clip.loso import LOSOExperiment, detect_protocol, fold_dirname, parse_device_groups
from mer_clip.apis.config import load_config
from mer_clip.loso.runner import CHECKPOINT_RULE_UNSAFE
from tests.conftest import SYNTHETIC_CONFIG


def test_subjects_from_test_dataset_without_images(synthetic_root, tmp_path, in_repo, data_options):
    # frames pointing nowhere: enumeration must read annotations only
    opts = data_options(synthetic_root) + [
        f'test_dataloader.dataset.data_prefix.img={tmp_path / "no_frames"}']
    proto = detect_protocol(load_config(SYNTHETIC_CONFIG, opts))
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        subjects = sorted({r['subject'] for r in json.load(f)['data_list']})
    assert proto.kind == 'loso'
    assert proto.subjects == subjects and len(subjects) == 4
    assert proto.classes == ['negative', 'positive', 'surprise']

    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), cfg_options=opts, seed=3,
                         subjects=[subjects[2], subjects[0]])
    folds = exp.plan()
    assert [f.name for f in folds] == [subjects[0], subjects[2]]  # dataset order
    assert folds[0].work_dir == str(tmp_path / 'run' / fold_dirname(subjects[0]))
    train = exp.steps_for(folds[0], None, 29500)[0]()
    assert train.cmd[1].endswith('tools/train.py')
    for flag in ('--resume', '--loso-subject', subjects[0], '--seed', '3'):
        assert flag in train.cmd
    assert train.cmd[train.cmd.index('--cfg-options') + 1:] == opts


def test_missing_annotation_file_is_a_clear_error(tmp_path, in_repo):
    opts = [f'test_dataloader.dataset.ann_file={tmp_path / "nope.json"}']
    with pytest.raises(FileNotFoundError, match='make_synthetic'):
        detect_protocol(load_config(SYNTHETIC_CONFIG, opts))


def test_fixed_split_protocol(synthetic_root, tmp_path, in_repo, data_options):
    """Records with `split` -> train once, test on test_a and test_b (DFME protocol)."""
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        ann = json.load(f)
    subjects = sorted({r['subject'] for r in ann['data_list']})
    split_of = {subjects[0]: 'train', subjects[1]: 'train', subjects[2]: 'test_a',
                subjects[3]: 'test_b'}
    for r in ann['data_list']:
        r['split'] = split_of[r['subject']]
    ann_file = tmp_path / 'fixed.json'
    ann_file.write_text(json.dumps(ann))
    opts = data_options(synthetic_root, str(ann_file))
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), cfg_options=opts,
                         select_on_test_fold_unsafe=True)
    folds = exp.plan()
    assert exp.protocol.kind == 'fixed' and exp.protocol.test_splits == ['test_a', 'test_b']
    assert len(folds) == 1 and folds[0].tests == ['test_a', 'test_b']
    fold = folds[0]
    steps = exp.steps_for(fold, None, 29500)
    assert len(steps) == 3  # train, test_a, test_b
    train = steps[0]()
    assert '--loso-subject' not in train.cmd
    assert 'default_hooks.checkpoint.save_best=mer/UF1' in train.cmd  # only with the UNSAFE flag
    # train on train, whatever split the (LOSO-style) config names; val only for monitoring
    assert 'train_dataloader.dataset.split=train' in train.cmd
    assert 'val_dataloader.dataset.split=test_a' in train.cmd
    import os
    os.makedirs(fold.work_dir)
    open(osp.join(fold.work_dir, 'best_mer_UF1_epoch_3.pth'), 'w').close()
    test_a, test_b = steps[1](), steps[2]()
    assert test_a.cmd[-1] == 'test_dataloader.dataset.split=test_a'
    assert test_b.cmd[-1] == 'test_dataloader.dataset.split=test_b'
    assert test_a.cmd[3].endswith('best_mer_UF1_epoch_3.pth')
    assert 'UNSAFE' in CHECKPOINT_RULE_UNSAFE
    with pytest.raises(ValueError, match='fixed splits'):
        LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r2'), cfg_options=opts,
                       subjects=[subjects[0]]).plan()


def test_safe_default_tests_the_last_epoch(synthetic_root, tmp_path, in_repo, data_options):
    opts = data_options(synthetic_root) + ['train_cfg.max_epochs=2']
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), cfg_options=opts)
    fold = exp.plan()[0]
    train = exp.steps_for(fold, None, 29500)[0]()
    assert not any('save_best' in c for c in train.cmd)
    import os
    os.makedirs(fold.work_dir)
    for name in ('epoch_1.pth', 'best_mer_UF1_epoch_1.pth'):
        open(osp.join(fold.work_dir, name), 'w').close()
    with pytest.raises(RuntimeError, match='epoch_2.pth is missing'):
        exp.checkpoint_for_test(fold)
    open(osp.join(fold.work_dir, 'epoch_2.pth'), 'w').close()
    assert exp.checkpoint_for_test(fold).endswith('epoch_2.pth')


def test_device_groups():
    assert parse_device_groups(None, None, 1, parallel_cpu=2) == [None, None]
    assert parse_device_groups('0,1,2,3', None, 2) == [['0', '1'], ['2', '3']]
    assert parse_device_groups(None, 3, 1) == [['0'], ['1'], ['2']]
    with pytest.raises(ValueError, match='groups of 2'):
        parse_device_groups(None, 3, 2)


def test_repair_resume_point_after_a_kill_while_saving(tmp_path):
    """mmengine removes the old checkpoint before writing the new one: a kill in between leaves a
    truncated file and/or a last_checkpoint that names a missing file."""
    import torch
    from mer_clip.engine.resume import repair_resume_point
    wd = tmp_path / 'fold'
    wd.mkdir()
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(wd / 'epoch_3.pth'))
    data = (wd / 'epoch_3.pth').read_bytes()
    (wd / 'epoch_4.pth').write_bytes(data[:len(data) // 2])  # cut off mid-write
    (wd / 'last_checkpoint').write_text(str(wd / 'epoch_4.pth'))
    note = repair_resume_point(str(wd))
    assert 'removed truncated epoch_4.pth' in note and 'resuming from epoch_3.pth' in note
    assert not (wd / 'epoch_4.pth').exists()
    assert (wd / 'last_checkpoint').read_text() == str(wd / 'epoch_3.pth')
    assert repair_resume_point(str(wd)) is None  # consistent now: nothing to do

    (wd / 'epoch_3.pth').unlink()  # removed, the new one never written
    note = repair_resume_point(str(wd))
    assert 'from the start' in note and not (wd / 'last_checkpoint').exists()
