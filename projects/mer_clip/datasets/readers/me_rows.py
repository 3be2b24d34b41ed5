"""The ME row policy of the release readers: one canonical record per sheet row, every problem
of a sheet reported in one run.

A row's emotion is checked against the dataset's emotions, its AU cell read leniently (each
non-standard code a note or warning of the conversion report), its frame faults repaired by
:mod:`.frame_policy`, its apex marker (``/``) read as unknown; bad rows are listed together after
the last row, or dropped and counted (``on_error='skip'``). The sheet itself (files, header row,
cell converters) is :mod:`.sheet`.
"""
import logging
import math
import re
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from mer_clip.au.codes import AUParseError, parse_au_cell

from ..annotation import AnnotationError, make_record
from ..class_schemes import normalize_emotion
from .errors import SKIP_HINT, ReaderError
from .frame_policy import FrameFault, repair_frames
from .report import ConversionReport
from .sheet import Table, UncachedFormula, to_int, to_text

logger = logging.getLogger('mer_clip')

#: Apex cells that mean "apex not annotated" (CASME II writes "/" in a few rows).
APEX_UNKNOWN = frozenset({'', '/', '-', 'none', 'nan', 'n/a', '?'})
#: At most this many row errors are spelled out in one exception (all are counted).
MAX_LISTED_ERRORS = 40


def to_apex(value: Any, where: str) -> Optional[int]:
    """An apex cell; the "not annotated" markers of :data:`APEX_UNKNOWN` give None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().lower() in APEX_UNKNOWN:
        return None
    return to_int(value, where)


def read_apex(table: Table, rownum: int, value: Any, sample_id: Optional[str] = None
              ) -> Optional[int]:
    """:func:`to_apex`, with a note in the report when the sheet writes a marker (``/``)."""
    apex = to_apex(value, table.where(rownum, 'apex'))
    if apex is None and isinstance(value, str) and value.strip():
        table.report.note('apex_not_annotated', table.where(rownum, 'apex'),
                          f'apex written {value.strip()!r}: apex unknown (null)',
                          sample_id=sample_id, raw=value)
    return apex


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
