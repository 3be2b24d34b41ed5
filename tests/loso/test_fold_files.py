"""mer_clip.loso.fold_files: a fold's records (fold.json, train_done.json) are written whole or not
at all, and a failed write names the file."""
import json
import os

import pytest

from mer_clip.loso import FoldJob
from mer_clip.loso.fold_files import FOLD_INFO, read_fold_info, record_seconds
from mer_clip.utils.atomic_write import FileWriteError


def test_a_failed_fold_record_names_the_file_and_keeps_the_old_one(tmp_path, file_size_limit):
    job = FoldJob(config='cfg.py', work_dir=str(tmp_path / 'fold_s01'), seed=0, held_out='s01')
    os.makedirs(job.work_dir)
    record_seconds(job, 'train', 12.5)
    path = os.path.join(job.work_dir, FOLD_INFO)
    with file_size_limit(20):  # was: "[Errno 27] File too large" and a cut-off fold.json
        with pytest.raises(FileWriteError) as e:
            record_seconds(job, 'test', 1.5)
    assert str(e.value).startswith(f'{path}: cannot write it ([Errno 27] File too large)')
    assert read_fold_info(job.work_dir) == {'seconds': {'train': 12.5}}
    assert os.listdir(job.work_dir) == [FOLD_INFO]
    record_seconds(job, 'test', 1.5)
    assert json.load(open(path))['seconds'] == {'train': 12.5, 'test': 1.5}


@pytest.mark.parametrize('keep', ['tested', 'none'])
def test_a_finished_fold_keeps_its_tested_checkpoint_or_none(keep, tmp_path):
    """'tested' keeps the tested checkpoint only; 'none' deletes every checkpoint, and the fold
    stays finished (no retraining for want of its checkpoint)."""
    import torch

    from mer_clip.checkpoint import save_checkpoint
    from mer_clip.loso.fold_files import TRAIN_DONE, check_trained, finish_fold, pending_steps
    job = FoldJob(config='cfg.py', work_dir=str(tmp_path / 'fold_s01'), seed=0, held_out='s01',
                  keep_checkpoints=keep)
    os.makedirs(job.work_dir)
    ckpts = [os.path.join(job.work_dir, f'epoch_{e}.pth') for e in (1, 2)]
    for path in ckpts:
        save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path)
    with open(os.path.join(job.work_dir, 'last_checkpoint'), 'w') as f:
        f.write(ckpts[1])
    with open(os.path.join(job.work_dir, TRAIN_DONE), 'w') as f:
        json.dump({'checkpoint': ckpts[1]}, f)
    open(os.path.join(job.work_dir, 'predictions.csv'), 'w').write('sample_id\n')
    finish_fold(job)
    left = sorted(n for n in os.listdir(job.work_dir) if 'epoch' in n or n == 'last_checkpoint')
    assert left == (['epoch_2.pth', 'epoch_2.pth.sha256', 'last_checkpoint'] if keep == 'tested'
                    else [])
    assert read_fold_info(job.work_dir)['checkpoint_kept'] is (keep == 'tested')
    assert check_trained(job) is None and pending_steps(job) == []
    assert os.path.exists(os.path.join(job.work_dir, TRAIN_DONE))
