"""read_samm on a fixture sheet laid out like SAMM_Micro_FACS_Codes_v2.xlsx."""
import logging

import pytest

from mer_clip.datasets.annotation import AnnotationError, dump_annotations, load_annotations
from mer_clip.datasets.readers import ConversionReport, ReaderError, read_samm

HEADER = ['Subject', 'Filename', 'Inducement Code', 'Onset Frame', 'Apex Frame', 'Offset Frame',
          'Duration', 'Type', 'Action Units', 'Estimated Emotion', 'Objective Classes', 'Notes']
# SAMM keeps a notes block above its table: 13 rows, header on row 14
NOTES = [['SAMM micro-movement FACS codes'], [], ['Type: Micro - 1/2 of a second']] + [[]] * 10


def _rows(data):
    return NOTES + [HEADER] + data


GOOD = [
    [6, '006_1_2', 1, 5562, 5588, 5632, 71, 'Micro - 1/2', 'R12+4', 'Anger', 1, None],
    ['007', '007_3_1', 3, 1100, 1120, 1180, 81, 'Micro - 1/2', '1+2?', 'Other', 7, 'note'],
    [11, '011_2_4', 2, 700, 710, 760, 61, 'Micro - 1/2', '12/14B', 'Happiness', 6, None],
    [37, '037_5_1', 5, 100, 130, 150, 51, 'Micro - 1/2', '', 'Surprise', 2, None],
    [None] * 12,  # trailing blank row
]


def test_reads_rows_below_notes_block(write_sheet):
    recs = read_samm(write_sheet('SAMM_Micro_FACS_Codes_v2.xlsx', _rows(GOOD)))
    assert [r['sample_id'] for r in recs] == ['006_1_2', '007_3_1', '011_2_4', '037_5_1']
    assert [r['subject'] for r in recs] == ['006', '007', '011', '037']
    r = recs[0]
    assert (r['onset'], r['apex'], r['offset']) == (5562, 5588, 5632)
    assert r['frame_dir'] == '006/006_1_2' and r['filename_tmpl'].format(5562) == '006_05562.jpg'
    assert r['aus'] == 'R12+4' and r['emotion'] == 'Anger' and r['objective_class'] == '1'
    assert [(c['au'], c['side']) for c in r['au_list']] == [(4, None), (12, 'R')]
    assert [c['au'] for c in recs[1]['au_list']] == [1, 2]
    assert [(c['au'], c['intensity']) for c in recs[2]['au_list']] == [(12, None), (14, 'B')]
    assert recs[3]['au_list'] == [] and recs[3]['aus'] is None


def test_templates_are_configurable(write_sheet):
    recs = read_samm(write_sheet('s.xlsx', _rows(GOOD[:1])), frame_dir_tmpl='{filename}',
                     filename_tmpl='img{}.png')
    assert recs[0]['frame_dir'] == '006_1_2' and recs[0]['filename_tmpl'] == 'img{}.png'


def test_unreadable_au_text_keeps_the_sample_and_is_reported(write_sheet):
    bad = [r[:] for r in GOOD[:3]]
    bad[1][8] = '12-14'
    path = write_sheet('s.xlsx', _rows(bad))
    report = ConversionReport()
    recs = read_samm(path, report=report)
    assert [c['au'] for c in recs[1]['au_list']] == [12] and recs[1]['aus'] == '12-14'
    (entry, ) = [e for e in report.entries if e['level'] == 'warning']
    # header is row 14, so the second data row is row 16; Action Units is column I
    assert entry['kind'] == 'unparseable' and entry['sample_id'] == '007_3_1'
    assert entry['where'] == f"{path}, row 16, column I ('Action Units')"
    with pytest.raises(ReaderError) as e:
        read_samm(path, strict=True)
    assert f"{path}, row 16, column I ('Action Units'): '-14' cannot be read" in str(e.value)
    assert '--strict' in str(e.value)


def test_bad_frames_all_reported_in_one_run(write_sheet):
    bad = [r[:] for r in GOOD[:4]]
    bad[0][3] = 'n/a'
    bad[2][5] = 'x'
    path = write_sheet('s.xlsx', _rows(bad))
    with pytest.raises(AnnotationError) as e:
        read_samm(path)
    msg = str(e.value)
    assert '2 row(s) cannot be converted' in msg
    assert "row 15, column D ('Onset Frame'): expected a frame number, got 'n/a'" in msg
    assert "row 17, column F ('Offset Frame'): expected a frame number, got 'x'" in msg
    assert '--on-error skip' in msg and 'on_error=' not in msg.split('(Python')[0]


def test_frame_fault_policy_and_strict(write_sheet):
    bad = [r[:] for r in GOOD[:2]]
    bad[1][4] = 2000  # apex after offset
    path = write_sheet('s2.xlsx', _rows(bad))
    report = ConversionReport()
    recs = read_samm(path, report=report)
    assert recs[1]['apex'] is None
    assert recs[1]['frame_repair'] == {'kind': 'apex_outside', 'sheet': [1100, 2000, 1180]}
    assert report.counts('warning') == {'apex_outside': 1}
    with pytest.raises(AnnotationError, match=r"row 16 \(sample_id='007_3_1'\): apex 2000 is "
                                              r"outside .*apex_outside.*--strict"):
        read_samm(path, strict=True)


def test_skip_mode_counts_and_logs(write_sheet, caplog):
    bad = [r[:] for r in GOOD[:3]]
    bad[1][5] = 'later'
    report = ConversionReport()
    with caplog.at_level(logging.WARNING, logger='mer_clip'):
        recs = read_samm(write_sheet('s.xlsx', _rows(bad)), on_error='skip', report=report)
    assert [r['sample_id'] for r in recs] == ['006_1_2', '011_2_4']
    assert 'skipped 1 bad row(s)' in caplog.text and 'row 16' in caplog.text
    assert report.counts('warning') == {'row_skipped': 1}


def test_emotion_outside_the_dataset_names_row_and_column(write_sheet):
    bad = [r[:] for r in GOOD[:2]]
    bad[0][9] = 'Hapiness'
    with pytest.raises(AnnotationError, match=r"row 15, column J \('Estimated Emotion'\): "
                                              r"emotion 'Hapiness' is not an emotion of this"):
        read_samm(write_sheet('s.xlsx', _rows(bad)))


def test_csv_export_with_subject_and_numbers_as_text(write_sheet):
    as_text = [[str(c) if c is not None else None for c in r] for r in GOOD]
    as_text[0][0] = '6'
    recs_csv = read_samm(write_sheet('s.csv', _rows(as_text)))
    recs_xlsx = read_samm(write_sheet('s.xlsx', _rows(GOOD)))
    assert recs_csv == recs_xlsx


def test_not_a_samm_sheet(write_sheet):
    path = write_sheet('x.xlsx', [['Subject', 'Filename', 'OnsetFrame']])
    with pytest.raises(AnnotationError, match='no header row with the columns'):
        read_samm(path)


def test_output_round_trips_through_json(write_sheet, tmp_path):
    recs = read_samm(write_sheet('s.xlsx', _rows(GOOD)))
    out = str(tmp_path / 'samm.json')
    dump_annotations(recs, out, dict(dataset_name='samm'))
    assert load_annotations(out)[1] == recs


def test_missing_column_names_file_row_and_column(write_sheet):
    header = [h for h in HEADER if h != 'Estimated Emotion']
    path = write_sheet('s.xlsx', NOTES + [header] + [r[:9] + r[10:] for r in GOOD[:1]])
    with pytest.raises(AnnotationError) as e:
        read_samm(path)
    assert path in str(e.value)
    assert ("Row 14 looks like the header but has no column for emotion (headed 'Estimated "
            "Emotion' or 'Emotion')") in str(e.value)
