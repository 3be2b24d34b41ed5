"""SAMM: ``SAMM_Micro_FACS_Codes_v2.xlsx`` -> canonical records.

The sheet keeps a notes block above the table (the header row is found by its column names:
Subject, Filename, Inducement Code, Onset Frame, Apex Frame, Offset Frame, Duration, Type,
Action Units, Estimated Emotion, Objective Classes, Notes).

Frames, as the release ships them: ``<root>/<subject>/<filename>/<subject>_<frame:05d>.jpg``, e.g.
``SAMM/006/006_1_2/006_05562.jpg``; onset/apex/offset are those frame numbers. Both templates are
arguments, in case a copy was renamed (``{subject}``/``{filename}`` are filled in per row).
"""
from typing import Any, Dict, List, Optional

from ._table import Table, convert_rows, row_record, subject_id, to_apex, to_int, to_text

COLUMNS = {
    'subject': ('Subject', ),
    'filename': ('Filename', 'File name'),
    'onset': ('Onset Frame', 'Onset'),
    'apex': ('Apex Frame', 'Apex'),
    'offset': ('Offset Frame', 'Offset'),
    'aus': ('Action Units', 'AU', 'AUs'),
    'emotion': ('Estimated Emotion', 'Emotion'),
    'objective_class': ('Objective Classes', 'Objective Class'),
}


def read_samm(xlsx_path: str, *, frame_dir_tmpl: str = '{subject}/{filename}',
              filename_tmpl: str = '{subject}_{:05d}.jpg', sheet: Optional[str] = None,
              on_error: str = 'raise') -> List[Dict[str, Any]]:
    """Records of SAMM's micro-expression FACS sheet; subjects are 3-digit strings ("006")."""
    table = Table(xlsx_path, COLUMNS, optional=('objective_class', ), sheet=sheet)

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        subject = subject_id(v['subject'], table.where(n, 'subject'), width=3)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        oc = v.get('objective_class')
        return row_record(
            table, n, aus_raw=v['aus'], sample_id=filename, subject=subject,
            emotion=to_text(v['emotion'], table.where(n, 'emotion')),
            onset=to_int(v['onset'], table.where(n, 'onset')),
            apex=to_apex(v['apex'], table.where(n, 'apex')),
            offset=to_int(v['offset'], table.where(n, 'offset')),
            frame_dir=frame_dir_tmpl.replace('{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl.replace('{subject}', subject),
            objective_class=None if oc is None else to_text(oc, table.where(n, 'objective_class')))

    return convert_rows(table, row, on_error)
