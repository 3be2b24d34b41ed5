"""tools/data/convert_annotations.py: sheet -> canonical JSON, counts printed, errors as exit."""
import contextlib
import io
import os.path as osp

import pytest

from mer_clip.datasets.annotation import load_annotations
from tests.conftest import REPO_ROOT, load_tool

LISTS = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'merclip_official_lists')


def _casme2_sheet(path, rows):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(['Subject', 'Filename', None, 'OnsetFrame', 'ApexFrame', 'OffsetFrame', None,
                      'Action Units', 'Estimated Emotion'])
    for r in rows:
        wb.active.append(r)
    wb.save(path)


class Result:

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(*args):
    """The tool's main() in-process (a subprocess would pay the package import again)."""
    mod = load_tool('tools/data/convert_annotations.py')
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = mod.main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int):
                err.write(str(e.code))
    return Result(code, out.getvalue(), err.getvalue())


def test_convert_casme2_sheet(tmp_path):
    sheet = tmp_path / 'CASME2-coding-20140508.xlsx'
    _casme2_sheet(sheet, [[1, 'EP02_01f', None, 46, 59, 86, None, '12', 'happiness'],
                          [2, 'EP01_11f', None, 10, '/', 40, None, '4+L10', 'repression'],
                          [3, 'EP01_02', None, 5, 9, 20, None, 'R12', 'happiness']])
    out = tmp_path / 'casme2.json'
    res = _run('casme2', sheet, out)
    assert res.returncode == 0, res.stderr
    assert 'wrote 3 samples' in res.stdout
    assert '[all] happiness: 2, repression: 1 (total 3)' in res.stdout
    meta, recs = load_annotations(str(out))
    assert meta['dataset_name'] == 'casme2' and meta['source'] == ['CASME2-coding-20140508.xlsx']
    assert [r['subject'] for r in recs] == ['sub01', 'sub02', 'sub03']


def test_bad_rows_exit_with_every_message_strict_and_skip(tmp_path):
    sheet = tmp_path / 'c.xlsx'
    _casme2_sheet(sheet, [[1, 'EP02_01f', None, 46, 59, 86, None, '12x', 'happiness'],
                          [2, 'EP01_11f', None, 'ten', 15, 40, None, '4', 'repression'],
                          [3, 'EP01_02', None, 5, 9, 'x', None, 'R12', 'happiness']])
    res = _run('casme2', sheet, tmp_path / 'o.json')
    assert res.returncode != 0
    assert '2 row(s) cannot be converted' in res.stderr  # both bad rows in one run
    assert "row 3, column D ('OnsetFrame')" in res.stderr and "'ten'" in res.stderr
    assert "row 4, column F ('OffsetFrame')" in res.stderr and '--on-error skip' in res.stderr
    assert not (tmp_path / 'o.json').exists()
    res = _run('casme2', sheet, tmp_path / 'o.json', '--on-error', 'skip')
    assert res.returncode == 0 and 'wrote 1 samples' in res.stdout
    assert 'warnings (3): row_skipped 2, unparseable 1' in res.stdout
    report = (tmp_path / 'o.conversion.md').read_text()
    assert "row 2, column H ('Action Units')" in report and '12x' in report
    res = _run('casme2', sheet, tmp_path / 'o2.json', '--strict')
    assert res.returncode != 0 and '3 row(s) cannot be converted' in res.stderr
    assert "'x' cannot be read as AU codes [unparseable]" in res.stderr
    res = _run('casme2', sheet, tmp_path / 'o2.json', '--strict', '--on-error', 'skip')
    assert res.returncode != 0 and 'contradict' in res.stderr


@pytest.mark.skipif(not osp.isdir(LISTS), reason=f'{LISTS} is absent')
def test_convert_authors_lists(tmp_path):
    out = tmp_path / 'samm.json'
    res = _run('merclip_lists', LISTS, out, '--dataset', 'samm')
    assert res.returncode == 0, res.stderr
    assert ('[all] anger: 57, contempt: 12, happiness: 26, others: 26, surprise: 15 (total 136)'
            in res.stdout)
    assert len(load_annotations(str(out))[1]) == 136
