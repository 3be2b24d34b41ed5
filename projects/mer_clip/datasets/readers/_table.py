"""Shared helpers of the release readers: tables (xlsx/csv) with a header row somewhere near the
top, column lookup by name, cell conversion with errors that name file, row and column, and the
row loop that reports every problem of a sheet in one run.

An xlsx and a CSV export of the same sheet give the same records: cells are read as values (the
cached results of formula cells), numbers stored as text are numbers, ``6`` and ``006`` are the
same subject.
"""
import csv
import logging
import math
import os.path as osp
import re
import zipfile
from collections import Counter
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from mer_clip.au.codes import AUParseError, parse_au_cell

from ..annotation import AnnotationError, make_record
from ..class_schemes import normalize_emotion
from .errors import ReaderError
from .frame_policy import FrameFault, repair_frames
from .report import ConversionReport

logger = logging.getLogger('mer_clip')

#: How many rows above the table a release may keep (SAMM has a notes block of ~13 rows).
MAX_HEADER_ROW = 60
#: Apex cells that mean "apex not annotated" (CASME II writes "/" in a few rows).
APEX_UNKNOWN = frozenset({'', '/', '-', 'none', 'nan', 'n/a', '?'})
#: How the command line and Python spell "drop bad rows" (error messages name both).
SKIP_HINT = "rerun with --on-error skip (Python: on_error='skip') to drop such rows, counted"
#: At most this many row errors are spelled out in one exception (all are counted).
MAX_LISTED_ERRORS = 40


class UncachedFormula:
    """A formula cell whose value was never computed (a workbook saved by a program that does not
    evaluate formulas): there is no value to read."""

    def __init__(self, formula: str):
        self.formula = formula

    def __repr__(self) -> str:
        return f'formula {self.formula!r} without a cached value'


def _norm(name: Any) -> str:
    return re.sub(r'[\s_]+', ' ', str(name)).strip().lower()


def _read_rows(path: str, sheet: Optional[str]) -> List[Tuple[Any, ...]]:
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


def to_apex(value: Any, where: str) -> Optional[int]:
    """An apex cell; the "not annotated" markers of :data:`APEX_UNKNOWN` give None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().lower() in APEX_UNKNOWN:
        return None
    return to_int(value, where)


def read_apex(table: 'Table', rownum: int, value: Any, sample_id: Optional[str] = None
              ) -> Optional[int]:
    """:func:`to_apex`, with a note in the report when the sheet writes a marker (``/``)."""
    apex = to_apex(value, table.where(rownum, 'apex'))
    if apex is None and isinstance(value, str) and value.strip():
        table.report.note('apex_not_annotated', table.where(rownum, 'apex'),
                          f'apex written {value.strip()!r}: apex unknown (null)',
                          sample_id=sample_id, raw=value)
    return apex


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
    """Apply ``row_fn`` to every data row and report every problem of the sheet in one run.

    ``on_error='raise'``: after the last row, one :class:`ReaderError` lists every bad row;
    ``'skip'``: bad rows are dropped, each one a ``row_skipped`` warning of the report.
    """
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    records, errors, rows_of = [], [], {}
    for rownum, values in table:
        try:
            for field, value in values.items():
                if isinstance(value, UncachedFormula):
                    raise ReaderError(
                        f'{table.where(rownum, field)}: {value!r}; the workbook was saved by a '
                        'program that does not compute formulas: open and save it in Excel or '
                        'LibreOffice, or export the sheet as .csv')
            rec = row_fn(rownum, values)
        except (AnnotationError, AUParseError) as e:
            errors.append((rownum, str(e)))
            continue
        records.append(rec)
        rows_of[rec['sample_id']] = rownum
    settle_row_errors(table.path, [(table.where(r), m) for r, m in errors], table.report,
                      on_error, kept=len(records))
    note_spelling_variants(table, records, rows_of)
    return records


def settle_row_errors(path: str, errors: Sequence[Tuple[str, str]], report: ConversionReport,
                      on_error: str, kept: int) -> None:
    """After a file's last row, its bad rows (``(where, message)``): ``on_error='raise'``, one
    :class:`ReaderError` listing them all; ``'skip'``, each a ``row_skipped`` warning of the report
    (even with ``--strict``: the skip is what was asked for) and a logged count."""
    if errors and on_error == 'raise':
        listed = '\n  '.join(msg for _, msg in errors[:MAX_LISTED_ERRORS])
        more = (f'\n  ... and {len(errors) - MAX_LISTED_ERRORS} more'
                if len(errors) > MAX_LISTED_ERRORS else '')
        strict = (' rerun without --strict (warnings are then repaired or kept as the conversion '
                  'report lists them),' if report.strict else '')
        raise ReaderError(f'{path}: {len(errors)} row(s) cannot be converted:\n  {listed}'
                          f'{more}\nFix them,{strict} or {SKIP_HINT}.')
    strict, report.strict = report.strict, False
    try:
        for where, msg in errors:
            report.warn('row_skipped', where, msg, action='row dropped')
    finally:
        report.strict = strict
    if errors:
        logger.warning(f'{path}: skipped {len(errors)} bad row(s) (--on-error skip); '
                       f'{kept} sample(s) kept:\n  ' + '\n  '.join(m for _, m in errors))


def note_spelling_variants(table: Table, records: Iterable[Dict[str, Any]],
                           rows_of: Dict[str, int]) -> None:
    """Note rows whose emotion is spelled unlike the sheet's usual spelling (``Others`` among
    ``others``): one emotion, not two (class schemes compare normalised labels)."""
    by_norm: Dict[str, Counter] = {}
    for r in records:
        by_norm.setdefault(normalize_emotion(r['emotion']), Counter())[r['emotion']] += 1
    for norm, spellings in by_norm.items():
        if len(spellings) < 2:
            continue
        usual = spellings.most_common(1)[0][0]
        for r in records:
            if normalize_emotion(r['emotion']) == norm and r['emotion'] != usual:
                table.report.note(
                    'emotion_spelling', table.where(rows_of[r['sample_id']], 'emotion'),
                    f'emotion {r["emotion"]!r} is spelled unlike {usual!r} ({spellings[usual]} '
                    f'rows); both are the emotion {norm!r}', sample_id=r['sample_id'],
                    raw=r['emotion'])


#: AU-cell notes that lose information (warnings); the other kinds are conventions (notes).
AU_WARNINGS = ('free_text', 'unparseable')
_AU_MESSAGES = {  # kind -> (what the cell says, what is done)
    'asymmetric': ('asymmetric AU {text!r}', 'kept as both sides, flagged asymmetric'),
    'ref': ('qualified code {text!r}', 'kept, flagged uncertain'),
    'alternatives': ('alternatives {text!r}', 'every code kept, flagged uncertain'),
    'side_alternatives': ('side alternatives {text!r}', 'one code per side, flagged uncertain'),
    'intensity_alternatives': ('intensity alternatives {text!r}',
                               'AU kept, intensity left unset'),
    'free_text': ('text {text!r} is not an AU code', 'ignored, the other codes kept'),
    'unparseable': ('{text!r} cannot be read as AU codes', 'ignored, the other codes kept'),
}


#: header spellings of the columns that the SAMM, CASME II and CAS(ME)^3 label sheets share
ME_SHEET_COLUMNS: Dict[str, Tuple[str, ...]] = {
    'subject': ('Subject', ),
    'filename': ('Filename', 'File name'),
    'onset': ('Onset Frame', 'OnsetFrame', 'Onset'),
    'apex': ('Apex Frame', 'ApexFrame', 'Apex'),
    'offset': ('Offset Frame', 'OffsetFrame', 'Offset'),
    'aus': ('Action Units', 'AU', 'AUs'),
    'emotion': ('Estimated Emotion', 'Emotion'),
    'objective_class': ('Objective Classes', 'Objective Class'),
}


def me_sheet_record(table: Table, rownum: int, values: Dict[str, Any], *, sample_id: str,
                    subject: str, emotions: Sequence[str], frame_dir: str, filename_tmpl: str,
                    onset: Optional[int] = None, **extra) -> Dict[str, Any]:
    """The record of one row of a :data:`ME_SHEET_COLUMNS` sheet: emotion checked against the
    dataset's ``emotions``, frame numbers, AU cell and objective class read as :func:`row_record`
    does (``onset``: already read by the caller; ``extra``: more fields, e.g. ``first_frame``)."""
    oc = values.get('objective_class')
    return row_record(
        table, rownum, aus_raw=values['aus'], sample_id=sample_id, subject=subject,
        emotion=check_emotion(values['emotion'], emotions, table.where(rownum, 'emotion')),
        onset=to_int(values['onset'], table.where(rownum, 'onset')) if onset is None else onset,
        apex=read_apex(table, rownum, values['apex'], sample_id),
        offset=to_int(values['offset'], table.where(rownum, 'offset')),
        frame_dir=frame_dir, filename_tmpl=filename_tmpl, **extra,
        objective_class=None if oc is None else to_text(
            oc, table.where(rownum, 'objective_class')))


def check_emotion(value: Any, emotions: Optional[Sequence[str]], where: str) -> str:
    """The emotion cell as text, checked against the dataset's emotions (normalised) when given."""
    text = to_text(value, where)
    if emotions is not None:
        if normalize_emotion(text) not in {normalize_emotion(e) for e in emotions}:
            raise ReaderError(f'{where}: emotion {text!r} is not an emotion of this dataset '
                              f'({", ".join(sorted(emotions))}); fix the cell (a typo?) or '
                              f'{SKIP_HINT}')
    return text


def row_record(table: Table, rownum: int, *, aus_raw: Any, **fields) -> Dict[str, Any]:
    """:func:`make_record` for one sheet row, with the AU cell read leniently and the frame-fault
    policy (:mod:`.frame_policy`; ``first_frame=N`` when the release numbers frames from N) applied;
    findings go to ``table.report``, errors name file and row."""
    report, sid = table.report, fields.get('sample_id')
    if isinstance(aus_raw, str) and re.fullmatch(r'\s*\d+\.0+\s*', aus_raw):
        aus_raw = float(aus_raw)  # a number stored as text ("12.0" in a CSV export)
    au_where = table.where(rownum, 'aus')
    cell = parse_au_cell(aus_raw, where=au_where)
    for kind, text in cell.notes:
        problem, action = _AU_MESSAGES[kind]
        report.add(kind, au_where, problem.format(text=text), sample_id=sid, raw=aus_raw,
                   action=action, level='warning' if kind in AU_WARNINGS else 'note')
    where = table.where(rownum) + (f' (sample_id={sid!r})' if sid else '')
    first_frame = fields.pop('first_frame', None)
    try:
        fix = repair_frames(fields['onset'], fields.get('apex'), fields['offset'], first_frame)
    except FrameFault as e:
        raise ReaderError(f'{where}: {e}') from None
    if fix.kind is not None:
        sheet = [fields['onset'], fields.get('apex'), fields['offset']]
        report.warn(fix.kind, where, fix.problem, sample_id=sid, raw=sheet,
                    action=f'{fix.action}: {sheet} -> {[fix.onset, fix.apex, fix.offset]}')
        fields.update(onset=fix.onset, apex=fix.apex, offset=fix.offset,
                      frame_repair=dict(kind=fix.kind, sheet=sheet))
    aus = None if aus_raw is None else (str(int(aus_raw)) if isinstance(aus_raw, float)
                                        and aus_raw.is_integer() else str(aus_raw))
    if isinstance(aus_raw, float) and math.isnan(aus_raw):
        aus = None
    return make_record(aus=aus, au_list=cell.codes, where=table.where(rownum), **fields)
