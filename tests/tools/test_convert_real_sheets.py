"""The official annotation sheets (../shared/data/real_sheets) convert with the default command,
xlsx or a CSV export of the same sheet, losing no sample; counts asserted exactly."""
import collections
import csv
import os.path as osp

import pytest

from mer_clip.datasets import MicroExpressionDataset
from mer_clip.datasets.annotation import load_annotations
from tests.conftest import SHARED_SHEETS
from tests.tools.test_convert_annotations import _run

pytestmark = pytest.mark.skipif(not osp.isdir(SHARED_SHEETS),
                                reason=f'real sheets absent: {SHARED_SHEETS}')

CASME2_2019 = osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx')
CASME2_2014 = osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20140508.xlsx')
SAMM = osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx')
CASME3 = osp.join(SHARED_SHEETS, 'casme3', 'cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx')
CASME3_WRONG = osp.join(SHARED_SHEETS, 'casme3', 'CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx')
SMIC_E = osp.join(SHARED_SHEETS, 'smic', 'SMIC-HS-E_annotation.xlsx')


def export_csv(xlsx, out, sheet=None, unpad_first_column=False):
    """What "save as CSV" writes: the sheet's values (formula results), numbers as text."""
    import openpyxl
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    with open(out, 'w', newline='') as f:
        w = csv.writer(f)
        for row in ws.iter_rows(values_only=True):
            row = ['' if c is None else str(c) for c in row]
            if unpad_first_column and row and row[0].isdigit():
                row[0] = str(int(row[0]))  # Subject written 6 instead of 006
            w.writerow(row)
    wb.close()
    return str(out)


def convert(source, path, out, *extra):
    res = _run(source, path, out, *extra)
    assert res.returncode == 0, res.stderr
    return res, load_annotations(str(out))[1]


def counts(ann, scheme):
    ds = MicroExpressionDataset(ann, class_scheme=scheme, test_mode=True)
    return ds.class_counts()


def test_casme2_both_revisions(tmp_path):
    res, recs = convert('casme2', CASME2_2019, tmp_path / 'c19.json')
    assert len(recs) == 255 and len({r['subject'] for r in recs}) == 26
    assert sum(counts(str(tmp_path / 'c19.json'), 'casme2_5').values()) == 249
    assert counts(str(tmp_path / 'c19.json'), 'casme2_3') == dict(negative=96, positive=32,
                                                                  surprise=28)
    assert 'warnings (0): none; notes (1): apex_not_annotated 1' in res.stdout
    res, recs14 = convert('casme2', CASME2_2014, tmp_path / 'c14.json')
    assert len(recs14) == 255
    assert sum(counts(str(tmp_path / 'c14.json'), 'casme2_5').values()) == 246
    assert counts(str(tmp_path / 'c14.json'), 'casme2_3') == dict(negative=99, positive=32,
                                                                  surprise=25)
    assert 'casme2_revision 1' in res.stdout
    _, recs_csv = convert('casme2', export_csv(CASME2_2019, tmp_path / 'c19.csv'),
                          tmp_path / 'c19csv.json')
    assert recs_csv == recs


def test_samm_converts_with_every_documented_convention(tmp_path):
    res, recs = convert('samm', SAMM, tmp_path / 'samm.json')
    assert len(recs) == 159
    ann = str(tmp_path / 'samm.json')
    assert sum(counts(ann, 'samm_5').values()) == 136
    assert counts(ann, 'samm_3') == dict(negative=92, positive=26, surprise=15)
    assert ('warnings (1): free_text 1; notes (33): alternatives 5, asymmetric 16, '
            'intensity_alternatives 2, ref 9, side_alternatives 1') in res.stdout
    by_id = {r['sample_id']: r for r in recs}
    assert [str(c) for c in _codes(by_id['007_6_1'])] == ['ref(R6)', 'ref(R12)', 'R15']
    assert [str(c) for c in _codes(by_id['026_2_2'])] == ['4D', 'ref(6)', '7C', '43E']
    assert [str(c) for c in _codes(by_id['026_5_1'])] == ['R14', '17']  # "+soft focus" reported
    assert [str(c) for c in _codes(by_id['014_6_3'])] == ['ref(A12)', 'ref(L12)']
    _, recs_csv = convert('samm', export_csv(SAMM, tmp_path / 'samm.csv', unpad_first_column=True),
                          tmp_path / 'samm_csv.json')
    assert recs_csv == recs
    res = _run('samm', SAMM, tmp_path / 'strict.json', '--strict')
    assert res.returncode != 0 and '1 row(s) cannot be converted' in res.stderr
    assert "row 135, column I ('Action Units'): text 'soft focus'" in res.stderr


def _codes(rec):
    from mer_clip.au.codes import AUCode
    return [AUCode.from_dict(d) for d in rec['au_list']]


def test_casme3_official_sheet_and_the_authors_wrong_list(tmp_path):
    res, recs = convert('casme3', CASME3, tmp_path / 'c3.json')
    assert len(recs) == 860 and len({r['subject'] for r in recs}) == 94
    ann = str(tmp_path / 'c3.json')
    assert sum(counts(ann, 'casme3_7').values()) == 860
    assert sum(counts(ann, 'casme3_4').values()) == 860
    assert counts(ann, 'casme3_3') == dict(negative=457, positive=55, surprise=187)
    assert counts(ann, 'casme3_7')['others'] == 161  # 158 'others' + 3 'Others'
    assert ('warnings (9): apex_outside 1, before_first_frame 1, listed_wrongly_labelled 4, '
            'offset_before_onset 2, onset_after_offset 1; notes (4): emotion_spelling 3, '
            'wrong_list 1') in res.stdout
    repaired = {r['sample_id']: (r['onset'], r['apex'], r['offset']) for r in recs
                if 'frame_repair' in r}
    assert repaired == {'spNO.149_d_0112': (112, None, 358), 'spNO.216_d_3647': (2668, 2668, 2694),
                        'spNO.040_e_1812': (1812, 1824, 1824),
                        'spNO.040_e_2327': (2327, 2363, 2363), 'spNO.216_e_0000': (1, None, 25)}
    assert {r['sample_id'] for r in recs if r.get('listed_wrongly_labelled')} == \
        set(repaired) - {'spNO.216_e_0000'}
    # CSV exports of the sheet and of the list beside it
    (tmp_path / 'csv').mkdir()
    export_csv(CASME3_WRONG, tmp_path / 'csv' / 'CAS(ME)3_part_A_wrongly_labeled_me_in_V1.csv')
    sheet_csv = export_csv(CASME3, tmp_path / 'csv' / 'casme3_label.csv')
    _, recs_csv = convert('casme3', sheet_csv, tmp_path / 'c3csv.json')
    assert recs_csv == recs
    res, dropped = convert('casme3', CASME3, tmp_path / 'c3drop.json', '--drop-listed')
    assert len(dropped) == 856
    res = _run('casme3', CASME3, tmp_path / 'strict.json', '--strict')
    assert res.returncode != 0 and '5 row(s) cannot be converted' in res.stderr
    assert 'apex 83 is outside [onset, offset] = [112, 358] [apex_outside]' in res.stderr


def test_smic_e_sheet_formula_cells(tmp_path):
    res, recs = convert('smic_e', SMIC_E, tmp_path / 'smic_e.json')
    assert len(recs) == 157 and len({r['subject'] for r in recs}) == 16
    assert collections.Counter(r['emotion'] for r in recs) == dict(negative=66, positive=51,
                                                                   surprise=40)
    assert ('warnings (7): extra_interval_invalid 5, interval_outside_clip 1, label_mismatch 1'
            in res.stdout)
    r = next(r for r in recs if r['sample_id'] == 's20_ne_06')
    assert (r['onset'], r['offset'], r['clip_range']) == (17668815, 17668835,
                                                          [17668743, 17668982])
    assert r['more_intervals'] == [[17668855, 17668883]] and r['subject'] == 's20'
    assert next(r for r in recs if r['sample_id'] == 's01_ne_01')['frame_dir'] == 's1/s1_ne_01'
    _, recs_csv = convert('smic_e', export_csv(SMIC_E, tmp_path / 'hs.csv', sheet='HS'),
                          tmp_path / 'smic_csv.json')
    assert recs_csv == recs


def test_uncached_formula_and_corrupt_workbook_are_clear_errors(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = 'HS'
    ws.append(['Subject', 'Filename', 'OnsetF', 'OffsetF', 'Emotion'])
    ws.append([1, 's1_ne_01', 100, '=C2+10', 'negative'])  # openpyxl stores no cached value
    wb.save(tmp_path / 'smic.xlsx')
    res = _run('smic_e', tmp_path / 'smic.xlsx', tmp_path / 'o.json')
    assert res.returncode != 0
    assert "row 2, column D ('OffsetF'): formula '=C2+10' without a cached value" in res.stderr
    assert 'export the sheet as .csv' in res.stderr
    (tmp_path / 'bad.xlsx').write_bytes(b'PK\x03\x04 not really a zip')
    res = _run('samm', tmp_path / 'bad.xlsx', tmp_path / 'o.json')
    assert res.returncode != 0 and 'not a readable .xlsx workbook' in res.stderr
