"""read_casme3 on a fixture sheet laid out like CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx."""
import pytest

from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import read_casme3

HEADER = ['Subject', 'Filename', 'Onset', 'Apex', 'Offset', 'AU', 'Objective class', 'emotion']
ROWS = [
    ['spNO.1', 'a', 355, 360, 370, 'L12+R14', 1, 'happy'],
    ['spNO.1', 'j', 102, 106, 113, '1+2+25', 6, 'surprise'],
    ['spNO.216', 'K', 20, 22, 30, 'AU4+AU7', 2, 'sad'],
]


def test_reads_subject_padding_and_folders(write_sheet):
    recs = read_casme3(write_sheet('CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx', [HEADER] + ROWS))
    assert [r['sample_id'] for r in recs] == ['spNO.001_a_0355', 'spNO.001_j_0102',
                                              'spNO.216_K_0020']
    assert [r['subject'] for r in recs] == ['spNO.001', 'spNO.001', 'spNO.216']
    r = recs[0]
    assert r['frame_dir'] == 'spNO.1/a/color' and r['filename_tmpl'].format(355) == '355.jpg'
    assert [(c['au'], c['side']) for c in r['au_list']] == [(12, 'L'), (14, 'R')]
    assert r['emotion'] == 'happy' and r['objective_class'] == '1'
    assert [c['au'] for c in recs[2]['au_list']] == [4, 7]


def test_bad_au(write_sheet):
    bad = [r[:] for r in ROWS]
    bad[2][5] = 'AU4 AUX'
    path = write_sheet('c3.xlsx', [HEADER] + bad)
    with pytest.raises(ValueError) as e:
        read_casme3(path)
    assert f"{path}, row 4, column F ('AU')" in str(e.value) and "'AU4 AUX'" in str(e.value)


def test_offset_before_onset(write_sheet):
    bad = [r[:] for r in ROWS]
    bad[0][4] = 300
    bad[0][3] = None
    with pytest.raises(AnnotationError, match=r"row 2 \(sample_id='spNO.001_a_0355'\): onset "
                                              r"355 > offset 300"):
        read_casme3(write_sheet('c3.xlsx', [HEADER] + bad))
