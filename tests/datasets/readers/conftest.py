"""Fixture sheets for the release readers, written with openpyxl/csv in tmp_path."""
import csv

import pytest


@pytest.fixture
def write_sheet(tmp_path):
    """``write_sheet(name, rows)`` -> path; ``.xlsx`` via openpyxl, ``.csv`` via csv."""

    def write(name, rows):
        path = tmp_path / name
        if name.endswith('.csv'):
            with open(path, 'w', newline='') as f:
                csv.writer(f).writerows(['' if c is None else c for c in r] for r in rows)
        else:
            import openpyxl
            wb = openpyxl.Workbook()
            ws = wb.active
            for r in rows:
                ws.append(list(r))
            wb.save(path)
        return str(path)

    return write
