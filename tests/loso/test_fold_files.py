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
