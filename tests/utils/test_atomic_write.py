"""mer_clip.utils.atomic_write: a file is complete or as it was, and a failed write names it."""
import errno
import json
import os

import pytest

from mer_clip.utils.atomic_write import (FileWriteError, atomic_open, atomic_write_json,
                                         atomic_write_text, errors_name)


def test_writes_replace_the_file_only_when_complete(tmp_path):
    path = str(tmp_path / 'sub' / 'run.json')
    assert atomic_write_json(path, {'a': 1}) == path  # the folder is made
    assert json.load(open(path)) == {'a': 1}
    with pytest.raises(TypeError):  # not JSON: nothing written, the old file kept
        atomic_write_json(path, {'a': object()})
    with pytest.raises(KeyError):
        with atomic_open(path) as f:
            f.write('{"cut')
            raise KeyError('killed mid-write')
    assert json.load(open(path)) == {'a': 1}
    assert os.listdir(tmp_path / 'sub') == ['run.json']  # no .part left behind
    atomic_write_text(path, 'text\n')
    assert open(path).read() == 'text\n'


def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = str(tmp_path / 'summary.md')
    atomic_write_text(path, 'old')

    def too_large(src, dst):
        raise OSError(errno.EFBIG, 'File too large')

    monkeypatch.setattr(os, 'replace', too_large)
    with pytest.raises(FileWriteError) as e:
        atomic_write_text(path, 'new')
    msg = str(e.value)
    assert msg.startswith(f'{path}: cannot write it ([Errno 27] File too large)')
    assert 'ulimit -f' in msg and isinstance(e.value, OSError) and e.value.errno == errno.EFBIG
    monkeypatch.undo()
    assert open(path).read() == 'old' and os.listdir(tmp_path) == ['summary.md']
    with pytest.raises(FileWriteError, match='figure.png: cannot write it'):
        with errors_name(str(tmp_path / 'figure.png')):
            raise OSError(errno.ENOSPC, 'No space left on device')


def test_a_real_file_size_limit(tmp_path, file_size_limit):
    path = str(tmp_path / 'predictions.csv')
    with file_size_limit(1000):
        with pytest.raises(FileWriteError) as e:
            atomic_write_text(path, 'x' * 5000)
    assert str(e.value).startswith(f'{path}: cannot write it ([Errno 27] File too large)')
    assert os.listdir(tmp_path) == []  # neither the file nor its .part
