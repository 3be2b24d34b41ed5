"""Fold enumeration, fixed-split detection and the commands each fold runs (no training here)."""
import json
import os.path as osp

import pytest

from mer_clip.loso import LOSOExperiment, detect_folds, fold_dirname, parse_device_groups
from mer_clip.apis.config import load_config
from mer_clip.loso.fold_files import final_checkpoint, pending_steps
from mer_clip.loso.plan import CHECKPOINT_RULE_UNSAFE
from tests.conftest import SYNTHETIC_CONFIG


def test_subjects_from_test_dataset_without_images(synthetic_root, tmp_path, in_repo, data_options):
    # frames pointing nowhere: enumeration must read annotations only
    opts = data_options(synthetic_root) + [
        f'test_dataloader.dataset.data_prefix.img={tmp_path / "no_frames"}']
    proto = detect_folds(load_config(SYNTHETIC_CONFIG, opts))
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
    job = folds[0]
    assert (job.fold_key, job.held_out, job.seed, job.cfg_options) == ('subject', subjects[0], 3,
                                                                       opts)
    cfg = job.train_config()  # what tools/train.py --resume --loso-subject S --seed 3 trains
    assert cfg.resume is True and cfg.load_from is None and cfg.randomness.seed == 3
    assert cfg.work_dir == folds[0].work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.loso_subject == subjects[0]
    assert pending_steps(job) == ['train', 'test']


def test_missing_annotation_file_is_a_clear_error(tmp_path, in_repo):
    opts = [f'test_dataloader.dataset.ann_file={tmp_path / "nope.json"}']
    with pytest.raises(FileNotFoundError, match='make_synthetic'):
        detect_folds(load_config(SYNTHETIC_CONFIG, opts))


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
    assert exp.fold_list.kind == 'fixed' and exp.fold_list.test_splits == ['test_a', 'test_b']
    assert len(folds) == 1 and folds[0].tests == ['test_a', 'test_b']
    fold = folds[0]
    assert pending_steps(fold) == ['train', 'test:test_a', 'test:test_b']
    assert fold.held_out is None and fold.name == 'fixed_split'
    train = fold.train_config()
    assert train.train_dataloader.dataset.get('loso_subject') is None
    assert train.default_hooks.checkpoint.save_best == 'mer/UF1'  # only with the UNSAFE flag
    # train on train, whatever split the (LOSO-style) config names; val only for monitoring
    assert train.train_dataloader.dataset.split == 'train'
    assert train.val_dataloader.dataset.split == 'test_a'
    import os
    os.makedirs(fold.work_dir)
    open(osp.join(fold.work_dir, 'best_mer_UF1_epoch_3.pth'), 'w').close()
    assert fold.test_config('test_a').test_dataloader.dataset.split == 'test_a'
    assert fold.test_config('test_b').test_dataloader.dataset.split == 'test_b'
    assert 'save_best' not in fold.test_config('test_a').default_hooks.checkpoint
    assert final_checkpoint(fold).endswith('best_mer_UF1_epoch_3.pth')
    assert 'UNSAFE' in CHECKPOINT_RULE_UNSAFE
    with pytest.raises(ValueError, match='fixed splits'):
        LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'r2'), cfg_options=opts,
                       subjects=[subjects[0]]).plan()


def test_safe_default_tests_the_last_epoch(synthetic_root, tmp_path, in_repo, data_options):
    opts = data_options(synthetic_root) + ['train_cfg.max_epochs=2']
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), cfg_options=opts)
    fold = exp.plan()[0]
    assert not any('save_best' in c for c in fold.train_options)
    assert 'save_best' not in fold.train_config().default_hooks.checkpoint
    import os
    os.makedirs(fold.work_dir)
    for name in ('epoch_1.pth', 'best_mer_UF1_epoch_1.pth'):
        open(osp.join(fold.work_dir, name), 'w').close()
    with pytest.raises(RuntimeError, match='epoch_2.pth is missing'):
        final_checkpoint(fold)
    open(osp.join(fold.work_dir, 'epoch_2.pth'), 'w').close()
    assert final_checkpoint(fold).endswith('epoch_2.pth')


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
