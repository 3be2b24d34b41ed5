"""SAMM: ``SAMM_Micro_FACS_Codes_v2.xlsx`` (or a CSV export of it) -> canonical records.

The sheet keeps a notes block above the table (the header row is found by its column names:
Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset Frame, Duration, Type,
Action Units, Estimated Emotion, Objective Classes, Notes). Its "Symbol Key" documents the AU
conventions ``/`` = or, ``?`` = unclear offset, ``L2``/``R2`` = unilateral, ``A2`` = asymmetric;
the cells also use ``ref(N)``, ``X or Y``, ``10A/B`` and, once, trailing words
(``R14+17+soft focus``). All are read by :func:`mer_clip.au.codes.parse_au_cell` and listed in the
conversion report; no sample is dropped for its AU cell.

Frames, as the release ships them: ``<root>/<subject>/<filename>/<subject>_<frame:05d>.jpg``, e.g.
``SAMM/006/006_1_2/006_05562.jpg``; onset/apex/offset are those frame numbers. Both templates are
arguments, in case a copy was renamed (``{subject}``/``{filename}`` are filled in per row).
"""
from typing import Any, Dict, List, Optional

from ..class_schemes import SAMM_EMOTIONS
from .me_rows import ME_SHEET_COLUMNS, convert_rows, me_sheet_record
from .sheet import Table, subject_id, to_text


def read_samm(xlsx_path: str, *, frame_dir_tmpl: str = '{subject}/{filename}',
              filename_tmpl: str = '{subject}_{:05d}.jpg', sheet: Optional[str] = None,
              on_error: str = 'raise', strict: bool = False, report=None
              ) -> List[Dict[str, Any]]:
    """Records of SAMM's micro-expression FACS sheet; subjects are 3-digit strings ("006").

    ``report``: a :class:`~.report.ConversionReport` collecting notes and warnings; ``strict``:
    every warning is an error; ``on_error='skip'`` drops bad rows (counted) instead of raising.
    """
    table = Table(xlsx_path, ME_SHEET_COLUMNS, optional=('objective_class', ), sheet=sheet,
                  report=report, strict=strict)

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        subject = subject_id(v['subject'], table.where(n, 'subject'), width=3)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        return me_sheet_record(
            table, n, v, sample_id=filename, subject=subject, emotions=SAMM_EMOTIONS,
            frame_dir=frame_dir_tmpl.replace('{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl.replace('{subject}', subject))

    return convert_rows(table, row, on_error)
