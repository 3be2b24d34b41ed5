"""read_casme3 on a fixture sheet laid out like CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx."""
import pytest

from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import ConversionReport, read_casme3

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


def test_unreadable_au_is_kept_and_reported(write_sheet):
    bad = [r[:] for r in ROWS]
    bad[2][5] = 'AU4 AUX'
    path = write_sheet('c3.xlsx', [HEADER] + bad)
    report = ConversionReport()
    recs = read_casme3(path, report=report)
    assert [c['au'] for c in recs[2]['au_list']] == [4]
    assert report.entries[0]['where'] == f"{path}, row 4, column F ('AU')"
    with pytest.raises(ValueError,
                       match="row 4, column F \\('AU'\\): text 'AUX' is not an AU code"):
        read_casme3(path, strict=True)


def test_offset_before_onset_without_apex_is_an_error(write_sheet):
    bad = [r[:] for r in ROWS]
    bad[0][4] = 300
    bad[0][3] = None
    with pytest.raises(AnnotationError, match=r"row 2 \(sample_id='spNO.001_a_0355'\): onset "
                                              r"355 > offset 300 and no apex"):
        read_casme3(write_sheet('c3.xlsx', [HEADER] + bad))


def test_wrong_list_beside_the_sheet_flags_or_drops(write_sheet, tmp_path):
    rows = [r[:] for r in ROWS] + [['spNO.40', 'e', '1812', '1824', '0', '18', 'VII', 'others'],
                                   ['spNO.149', 'd', '112', '83', '358', 'T28+14', 'VII', 'fear']]
    sheet = write_sheet('cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx', [HEADER] + rows)
    write_sheet('CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx', [
        ['spNO.149', 'd', 112, '167', '358', 'T28+14', 'VII', 'fear'], [None] * 8,
        ['spNO.40', 'e', '1812', '1824', '0', '18', 'Others', 'Micro-expression', 'VII'],
        ['spNO.7', 'a', '10', '12', '5', '4', 'Others', 'Micro-expression', 'VII']])
    report = ConversionReport()
    recs = read_casme3(sheet, report=report)
    by_id = {r['sample_id']: r for r in recs}
    assert len(recs) == 5
    r40, r149 = by_id['spNO.040_e_1812'], by_id['spNO.149_d_0112']
    assert (r40['onset'], r40['apex'], r40['offset']) == (1812, 1824, 1824)
    assert r40['frame_repair']['kind'] == 'offset_before_onset'
    assert (r149['apex'], r149['frame_repair']['kind']) == (None, 'apex_outside')
    assert r40['listed_wrongly_labelled'] and r149['listed_wrongly_labelled']
    assert 'listed_wrongly_labelled' not in by_id['spNO.001_a_0355']
    assert report.counts('warning') == {'apex_outside': 1, 'listed_wrongly_labelled': 2,
                                        'offset_before_onset': 1}
    assert len(read_casme3(sheet, drop_listed=True)) == 3
    assert len(read_casme3(sheet, wrong_list=None)) == 5
    assert 'listed_wrongly_labelled' not in read_casme3(sheet, wrong_list=None)[3]


def test_frame_zero_is_before_the_first_jpeg(write_sheet):
    rows = [r[:] for r in ROWS] + [['spNO.216', 'e', '0', '0', '25', '14', 'VII', 'others']]
    report = ConversionReport()
    recs = read_casme3(write_sheet('c3.xlsx', [HEADER] + rows), report=report)
    r = recs[-1]
    assert r['sample_id'] == 'spNO.216_e_0000'  # the sheet's onset
    assert (r['onset'], r['apex'], r['offset']) == (1, None, 25)
    assert r['frame_repair'] == {'kind': 'before_first_frame', 'sheet': [0, 0, 25]}
    assert report.counts('warning') == {'before_first_frame': 1}
