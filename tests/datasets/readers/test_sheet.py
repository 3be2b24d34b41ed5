"""mer_clip.datasets.readers.sheet: rows of xlsx / csv, the header row found by name, converters."""
import pytest

from mer_clip.datasets.readers import ReaderError
from mer_clip.datasets.readers.sheet import Table, read_rows, subject_id, to_int, to_text

ROWS = [('notes of the release', None, None), (None, None, None),
        ('Subject', 'Onset Frame', 'Emotion'), (6, 12, 'happiness'), (None, None, None),
        ('007', '30', ' Anger ')]
COLUMNS = {'subject': ('Subject', ), 'onset': ('OnsetFrame', 'Onset Frame'),
           'emotion': ('Emotion', ), 'aus': ('Action Units', )}


@pytest.mark.parametrize('name', ['sheet.xlsx', 'sheet.csv'])
def test_header_below_notes_and_rows_by_field(write_sheet, name):
    table = Table(write_sheet(name, ROWS), COLUMNS, optional=('aus', ))
    assert table.header_row == 3 and 'aus' not in table.col
    rows = list(table)
    assert [n for n, _ in rows] == [4, 6] and table.blank_rows == 1
    (_, first), (_, second) = rows
    assert [subject_id(r['subject'], 'x', width=3) for r in (first, second)] == ['006', '007']
    assert to_int(first['onset'], 'x') == 12 and to_int(second['onset'], 'x') == 30
    assert to_text(second['emotion'], 'x') == 'Anger'
    assert table.where(6, 'onset').endswith(f"{name}, row 6, column B ('Onset Frame')")


def test_csv_and_xlsx_give_the_same_cells(write_sheet):
    xlsx, csv = read_rows(write_sheet('a.xlsx', ROWS), None), read_rows(write_sheet('a.csv', ROWS),
                                                                         None)
    assert [[str(c) if c is not None else None for c in r] for r in xlsx] == \
        [list(r) for r in csv]


def test_errors_name_the_file_and_the_missing_column(write_sheet, tmp_path):
    path = write_sheet('b.csv', [('Subject', 'Emotion'), (1, 'fear')])
    with pytest.raises(ReaderError, match=r"b.csv: no header row .*Row 1 looks like the header "
                                          r"but has no column for onset"):
        Table(path, COLUMNS, optional=('aus', ))
    with pytest.raises(ReaderError, match='file not found'):
        read_rows(str(tmp_path / 'missing.xlsx'), None)
    with pytest.raises(ReaderError, match=r"unsupported file type '.xls'"):
        read_rows(write_sheet('c.xls', ROWS), None)
    with pytest.raises(ReaderError, match=r"x: expected a frame number, got 'l2'.*--on-error skip"):
        to_int('l2', 'x')
