"""mer_clip.datasets.readers.report: the conversion report's files are written whole or not at
all, and a failed write names the file."""
import os

import pytest

from mer_clip.datasets.readers import ConversionReport
from mer_clip.utils.atomic_write import FileWriteError


def test_a_failed_report_write_names_the_file(tmp_path, file_size_limit):
    report = ConversionReport()
    for i in range(30):
        report.warn('missing_apex', f'sheet.xlsx row {i + 2}', 'no apex frame; apex set to null')
    out = str(tmp_path / 'samm.json')
    with file_size_limit(300):  # was: "[Errno 27] File too large", no file named
        with pytest.raises(FileWriteError) as e:
            report.write(out)
    assert str(e.value).startswith(f'{tmp_path / "samm.conversion.json"}: cannot write it (')
    assert os.listdir(tmp_path) == []
    assert sorted(os.path.basename(p) for p in report.write(out)) == [
        'samm.conversion.json', 'samm.conversion.md']
