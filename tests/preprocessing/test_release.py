"""Release-folder discovery of prepare_dataset: the label sheet, not a file that merely sorts
first; the sheet is read by the dataset's reader in READERS."""
import os

import pytest

from mer_clip.datasets.readers import READERS
from mer_clip.preprocessing.release import RELEASES, find_annotation, read_records


def _touch(root, *names):
    for name in names:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, 'w').close()


def test_casme3_picks_the_label_sheet_not_the_wrong_list(tmp_path):
    _touch(tmp_path, 'annotation/partA/CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx',
           'annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx')
    assert os.path.basename(find_annotation('casme3', str(tmp_path))[0]) == \
        'cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx'


def test_casme2_prefers_the_2019_revision(tmp_path):
    _touch(tmp_path, 'CASME2-coding-20140508.xlsx', 'CASME2-coding-20190701.xlsx')
    assert find_annotation('casme2', str(tmp_path))[0].endswith('CASME2-coding-20190701.xlsx')
    os.remove(tmp_path / 'CASME2-coding-20190701.xlsx')
    assert find_annotation('casme2', str(tmp_path))[0].endswith('CASME2-coding-20140508.xlsx')


def test_smic_release_is_its_own_annotation(tmp_path):
    assert find_annotation('smic', str(tmp_path)) == [str(tmp_path)]


def test_every_release_is_read_by_its_reader_in_READERS(tmp_path, monkeypatch):
    assert set(RELEASES) <= set(READERS)
    calls = []
    monkeypatch.setitem(READERS, 'samm', lambda *files, **kw: calls.append((files, kw)) or [{}])
    assert read_records('samm', str(tmp_path / 'a.xlsx'), strict=True) == [{}]
    assert calls == [((str(tmp_path / 'a.xlsx'), ), dict(strict=True))]
    with pytest.raises(ValueError, match='one annotation sheet'):
        read_records('samm', ['a.xlsx', 'b.xlsx'])
    with pytest.raises(ValueError, match='unknown dataset'):
        find_annotation('casme4', str(tmp_path))
