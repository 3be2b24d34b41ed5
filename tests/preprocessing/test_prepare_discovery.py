"""Release-folder discovery of prepare_dataset: the label sheet, not a file that merely sorts
first."""
import os

from mer_clip.preprocessing.prepare import find_annotation


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
