"""Shared helpers of the release readers: tables (xlsx/csv) with a header row somewhere near the
top, column lookup by name, cell conversion with errors that name file, row and column."""
import csv
import logging
import math
import os.path as osp
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from mer_clip.au.codes import AUParseError, parse_au_string
from mer_clip.datasets.annotation import AnnotationError, make_record

logger = logging.getLogger('mer_clip')

#: How many rows above the table a release may keep (SAMM has a notes block of ~13 rows).
MAX_HEADER_ROW = 60
#: Apex cells that mean "apex not annotated" (CASME II writes "/" in a few rows).
APEX_UNKNOWN = frozenset({'', '/', '-', 'none', 'nan', 'n/a', '?'})


class ReaderError(AnnotationError):
    """A release file that cannot be converted; the message names file, row, column and value."""


def _norm(name: Any) -> str:
    return re.sub(r'[\s_]+', ' ', str(name)).strip().lower()


def _read_rows(path: str, sheet: Optional[str]) -> List[Tuple[Any, ...]]:
    if not osp.isfile(path):
        raise ReaderError(f'{path}: file not found')
    ext = osp.splitext(path)[1].lower()
    if ext in ('.xlsx', '.xlsm'):
        import openpyxl
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            if sheet is None:
                ws = wb.worksheets[0]
            elif sheet in wb.sheetnames:
                ws = wb[sheet]
            else:
                raise ReaderError(f'{path}: no sheet {sheet!r}; sheets are {wb.sheetnames}')
            return [tuple(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if ext in ('.csv', '.txt', '.tsv'):
        with open(path, newline='', encoding='utf-8-sig') as f:
            sample = f.read(4096)
            f.seek(0)
            delimiter = '\t' if ext == '.tsv' or sample.count('\t') > sample.count(',') else ','
            return [tuple(c if c != '' else None for c in row)
                    for row in csv.reader(f, delimiter=delimiter)]
    raise ReaderError(f'{path}: unsupported file type {ext!r}; save the sheet as .xlsx or .csv '
                      f'(old .xls files: open and "save as" .xlsx)')


class Table:
    """The data rows of a release sheet below its header row.

    ``columns`` maps our field names to accepted header spellings, e.g.
    ``{'onset': ('Onset Frame', 'OnsetFrame', 'Onset')}``; the header row is the first of the top
    :data:`MAX_HEADER_ROW` rows that has every required field.
    """

    def __init__(self, path: str, columns: Dict[str, Sequence[str]],
                 optional: Sequence[str] = (), sheet: Optional[str] = None):
        self.path = str(path)
        self.name = osp.basename(self.path)
        rows = _read_rows(self.path, sheet)
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
        raise ReaderError(f'{self.path}: no header row with the columns {wanted} in the first '
                          f'{MAX_HEADER_ROW} rows; is this the right file for this reader?')

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
                      f'convert with on_error="skip" to drop this row')


def to_apex(value: Any, where: str) -> Optional[int]:
    """An apex cell; the "not annotated" markers of :data:`APEX_UNKNOWN` give None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().lower() in APEX_UNKNOWN:
        return None
    return to_int(value, where)


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


def convert_rows(table: Table, row_fn: Callable[[int, Dict[str, Any]], Dict[str, Any]],
                 on_error: str = 'raise') -> List[Dict[str, Any]]:
    """Apply ``row_fn`` to every data row. ``on_error='raise'`` stops at the first bad row;
    ``'skip'`` drops it and logs a warning per row plus a count."""
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    records, skipped = [], 0
    for rownum, values in table:
        try:
            records.append(row_fn(rownum, values))
        except (AnnotationError, AUParseError) as e:
            if on_error == 'raise':
                raise
            skipped += 1
            logger.warning(f'skipped: {e}')
    if skipped:
        logger.warning(f'{table.path}: skipped {skipped} bad row(s) (on_error="skip"); '
                       f'{len(records)} sample(s) kept')
    return records


def row_record(table: Table, rownum: int, *, aus_raw: Any, **fields) -> Dict[str, Any]:
    """:func:`make_record` for one sheet row: AU parse and record errors name file and row."""
    au_list = parse_au_string(aus_raw, where=table.where(rownum, 'aus'))
    aus = None if aus_raw is None else (str(int(aus_raw)) if isinstance(aus_raw, float)
                                        and aus_raw.is_integer() else str(aus_raw))
    if isinstance(aus_raw, float) and math.isnan(aus_raw):
        aus = None
    return make_record(aus=aus, au_list=au_list, where=table.where(rownum), **fields)
