"""read_casme2 on a fixture sheet laid out like CASME2-coding-20140508.xlsx."""
import logging

import pytest

from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import read_casme2

HEADER = ['Subject', 'Filename', None, 'OnsetFrame', 'ApexFrame', 'OffsetFrame', None,
          'Action Units', 'Estimated Emotion']
ROWS = [
    [1, 'EP02_01f', None, 46, 59, 86, None, '12', 'happiness'],
    [1, 'EP19_05f', None, 100, '/', 140, None, '4+L10', 'disgust'],
    [26, 'EP02_01f', None, 5, 20, 31, None, 'R12+14?', 'others'],
    ['04', 'EP12_01f', None, 10, 11.0, 30, None, 14.0, 'repression'],
]


def test_reads_subjects_frames_and_apex_slash(write_sheet, caplog):
    with caplog.at_level(logging.INFO, logger='mer_clip'):
        recs = read_casme2(write_sheet('CASME2-coding-20140508.xlsx', [HEADER] + ROWS))
    assert [r['sample_id'] for r in recs] == ['sub01_EP02_01f', 'sub01_EP19_05f',
                                              'sub26_EP02_01f', 'sub04_EP12_01f']
    assert [r['subject'] for r in recs] == ['sub01', 'sub01', 'sub26', 'sub04']
    r = recs[0]
    assert r['frame_dir'] == 'sub01/EP02_01f' and r['filename_tmpl'].format(46) == 'img46.jpg'
    assert (r['onset'], r['apex'], r['offset']) == (46, 59, 86)
    assert recs[1]['apex'] is None  # '/' in the sheet: apex unknown
    assert '1 sample(s) without an apex frame' in caplog.text
    assert [(c['au'], c['side']) for c in recs[1]['au_list']] == [(4, None), (10, 'L')]
    assert [(c['au'], c['side']) for c in recs[2]['au_list']] == [(12, 'R'), (14, None)]
    assert recs[3]['aus'] == '14' and recs[3]['apex'] == 11  # numeric cells


def test_bad_rows(write_sheet):
    bad = [r[:] for r in ROWS]
    bad[2][3] = 'abc'
    path = write_sheet('c.xlsx', [HEADER] + bad)
    with pytest.raises(AnnotationError) as e:
        read_casme2(path)
    assert f"{path}, row 4, column D ('OnsetFrame'): expected a frame number, got 'abc'" in str(
        e.value)
    bad = [r[:] for r in ROWS]
    bad[0][8] = None
    with pytest.raises(AnnotationError, match=r"row 2, column I \('Estimated Emotion'\): empty"):
        read_casme2(write_sheet('c2.xlsx', [HEADER] + bad))
    bad = [r[:] for r in ROWS]
    bad[1][0] = 'Mr X'
    with pytest.raises(AnnotationError, match=r"row 3, .*subject 'Mr X' is not a number"):
        read_casme2(write_sheet('c3.xlsx', [HEADER] + bad))


def test_duplicated_sample_is_caught_on_dump(write_sheet, tmp_path):
    from mer_clip.datasets.annotation import dump_annotations
    recs = read_casme2(write_sheet('c.xlsx', [HEADER] + ROWS + [ROWS[0]]))
    with pytest.raises(AnnotationError, match="sample_id='sub01_EP02_01f'.*duplicated"):
        dump_annotations(recs, str(tmp_path / 'x.json'))
