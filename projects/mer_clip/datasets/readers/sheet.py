"""Release sheets as rows of cells: xlsx/csv reading, the header row found by column names, and
cell converters whose errors name file, row and column.

Generic (nothing here knows micro-expressions): the ME row policy built on it is :mod:`.me_rows`.
An xlsx and a CSV export of the same sheet give the same rows: cells are read as values (the
cached results of formula cells), numbers stored as text are numbers, ``6`` and ``006`` are the
same subject.
"""
import csv
import logging
import math
import os.path as osp
import re
import zipfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import SKIP_HINT, ReaderError
from .report import ConversionReport

logger = logging.getLogger('mer_clip')

#: How many rows above the table a release may keep (SAMM has a notes block of ~13 rows).
MAX_HEADER_ROW = 60


class UncachedFormula:
    """A formula cell whose value was never computed (a workbook saved by a program that does not
    evaluate formulas): there is no value to read."""

    def __init__(self, formula: str):
        self.formula = formula

    def __repr__(self) -> str:
        return f'formula {self.formula!r} without a cached value'


def _norm(name: Any) -> str:
    return re.sub(r'[\s_]+', ' ', str(name)).strip().lower()


def read_rows(path: str, sheet: Optional[str]) -> List[Tuple[Any, ...]]:
    """Every row of a sheet as a tuple of cell values (empty cells None); ``sheet``: the xlsx
    sheet name (default the first; a CSV has one)."""
    if not osp.isfile(path):
        raise ReaderError(f'{path}: file not found')
    ext = osp.splitext(path)[1].lower()
    if ext in ('.xlsx', '.xlsm'):
        return _read_xlsx(path, sheet)
    if ext in ('.csv', '.txt', '.tsv'):
        with open(path, newline='', encoding='utf-8-sig') as f:
            sample = f.read(4096)
            f.seek(0)
            delimiter = '\t' if ext == '.tsv' or sample.count('\t') > sample.count(',') else ','
            return [tuple(c if c != '' else None for c in row)
                    for row in csv.reader(f, delimiter=delimiter)]
    raise ReaderError(f'{path}: unsupported file type {ext!r}; save the sheet as .xlsx or .csv '
                      f'(old .xls files: open and "save as" .xlsx)')


def _open_workbook(path: str, data_only: bool):
    import openpyxl  # here: .xlsx sheets only, and it takes ~0.5 s to import
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
        raise ReaderError(f'{path}: not a readable .xlsx workbook ({type(e).__name__}: {e}); the '
                          'file is corrupt or truncated, or not an xlsx: download it again, or '
                          'open it and save it as .xlsx or export the sheet as .csv') from None


def _select_sheet(wb, path: str, sheet: Optional[str]):
    if sheet is None:
        return wb.worksheets[0]
    if sheet in wb.sheetnames:
        return wb[sheet]
    raise ReaderError(f'{path}: no sheet {sheet!r}; sheets are {wb.sheetnames} (--sheet NAME)')


def _read_xlsx(path: str, sheet: Optional[str]) -> List[Tuple[Any, ...]]:
    """Cell values; formula cells give their cached value, or :class:`UncachedFormula`."""
    wb = _open_workbook(path, data_only=True)
    try:
        rows = [tuple(r) for r in _select_sheet(wb, path, sheet).iter_rows(values_only=True)]
    finally:
        wb.close()
    wb = _open_workbook(path, data_only=False)
    try:
        formulas = [tuple(r) for r in _select_sheet(wb, path, sheet).iter_rows(values_only=True)]
    finally:
        wb.close()
    out = []
    for row, frow in zip(rows, formulas):
        if any(v is None and isinstance(f, str) and f.startswith('=')
               for v, f in zip(row, frow)):
            row = tuple(UncachedFormula(f) if v is None and isinstance(f, str) and f.startswith('=')
                        else v for v, f in zip(row, frow))
        out.append(row)
    return out


class Table:
    """The data rows of a release sheet below its header row.

    ``columns`` maps our field names to accepted header spellings, e.g.
    ``{'onset': ('Onset Frame', 'OnsetFrame', 'Onset')}``; the header row is the first of the top
    :data:`MAX_HEADER_ROW` rows that has every required field. Findings of the conversion go to
    ``report`` (a :class:`~.report.ConversionReport`; a new one when None), ``strict`` makes its
    warnings errors.
    """

    def __init__(self, path: str, columns: Dict[str, Sequence[str]],
                 optional: Sequence[str] = (), sheet: Optional[str] = None, report=None,
                 strict: bool = False):
        self.path = str(path)
        self.name = osp.basename(self.path)
        self.report = report if report is not None else ConversionReport(strict)
        self.report.strict = self.report.strict or strict
        self.report.sources.append(self.path)
        rows = read_rows(self.path, sheet)
        required = [k for k in columns if k not in optional]
        for idx, row in enumerate(rows[:MAX_HEADER_ROW]):
            cells = {_norm(c): j for j, c in enumerate(row) if c is not None}
            found = {}
            for field, names in columns.items():
                for n in names:
                    if _norm(n) in cells:
                        found[field] = cells[_norm(n)]
                        break
            if all(k in found for k in required):
                self.header_row = idx + 1  # spreadsheet row numbers start at 1
                self.header = row
                self.col = found
                self.rows = rows[idx + 1:]
                return
        wanted = {k: list(v) for k, v in columns.items() if k in required}
        def n_found(r):
            cells = {_norm(c) for c in r if c is not None}
            return sum(any(_norm(n) in cells for n in names) for names in columns.values())
        top = rows[:MAX_HEADER_ROW]
        best_i = max(range(len(top)), key=lambda i: n_found(top[i]), default=None)
        hint = ''
        if best_i is not None and n_found(top[best_i]):
            have = {_norm(c) for c in top[best_i] if c is not None}
            missing = {k: list(columns[k]) for k in required
                       if not any(_norm(n) in have for n in columns[k])}
            hint = (f' Row {best_i + 1} looks like the header but has no column for '
                    + ', '.join(f'{k} (headed {" or ".join(map(repr, v))})'
                                for k, v in missing.items()) + ': add or rename it.')
        raise ReaderError(f'{self.path}: no header row with the columns {wanted} in the first '
                          f'{MAX_HEADER_ROW} rows{" of sheet " + repr(sheet) if sheet else ""}.'
                          f'{hint} Is this the right file (or --sheet) for this reader?')

    def __iter__(self) -> Iterator[Tuple[int, Dict[str, Any]]]:
        """Yields ``(spreadsheet row number, {field: cell})``; blank rows are skipped, counted."""
        self.blank_rows = 0
        for i, row in enumerate(self.rows):
            rownum = self.header_row + 1 + i
            values = {f: (row[j] if j < len(row) else None) for f, j in self.col.items()}
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
                self.blank_rows += 1
                continue
            yield rownum, values
        if self.blank_rows:
            logger.info(f'{self.path}: skipped {self.blank_rows} blank row(s)')

    def where(self, rownum: int, field: Optional[str] = None) -> str:
        loc = f'{self.path}, row {rownum}'
        if field is not None and field not in self.col:
            loc += f', {field}'
        elif field is not None:
            col = self.col[field]
            loc += f", column {_col_letter(col)} ({self.header_name(field)!r})"
        return loc

    def header_name(self, field: str) -> str:
        return str(self.header[self.col[field]]).strip()


def _col_letter(j: int) -> str:
    s = ''
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def to_int(value: Any, where: str) -> int:
    """A frame number cell (int, integral float, digit string) as int."""
    if isinstance(value, bool):
        raise ReaderError(f'{where}: expected a frame number, got {value!r}')
    if isinstance(value, int):
        return value
    if isinstance(value, float) and not math.isnan(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r'\s*\d+(\.0+)?\s*', value):
        return int(float(value))
    raise ReaderError(f'{where}: expected a frame number, got {value!r}; fix the cell or '
                      f'{SKIP_HINT}')


def to_text(value: Any, where: str) -> str:
    """A required text cell (emotion, file name) as a stripped string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ReaderError(f'{where}: empty cell; every sample needs this value')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise ReaderError(f'{where}: empty cell; every sample needs this value')
    return text


def subject_id(value: Any, where: str, prefix: str = '', width: int = 0) -> str:
    """Subject as ``<prefix><number zero-padded to width>`` whether the cell holds 6, '6', '006'
    or 'sub06'; names that are not a number after the prefix are kept as written."""
    text = to_text(value, where)
    m = re.fullmatch(re.escape(prefix) + r'0*(\d+)', text, re.IGNORECASE) if prefix else None
    if m is None:
        m = re.fullmatch(r'0*(\d+)(\.0+)?', text)
    if m is None:
        raise ReaderError(f'{where}: subject {text!r} is not a number or {prefix}<number>')
    return f'{prefix}{int(m.group(1)):0{width}d}'
