"""CASME II: ``CASME2-coding-20140508.xlsx`` -> canonical records.

Columns: Subject, Filename, (unnamed), OnsetFrame, ApexFrame, OffsetFrame, (unnamed), Action Units,
Estimated Emotion. Subject ``1`` is the folder ``sub01``, and that folder name is our subject id
(as SAMM's "006", CAS(ME)^3's "spNO.001", DFME's "sub0008": the release's own subject folder).
Filenames repeat across subjects (EP02_01f), so ``sample_id`` is ``sub01_EP02_01f``.

Frames: ``CASME2-RAW/sub01/EP02_01f/img46.jpg`` (no zero padding); frame_dir is relative to
the ``CASME2-RAW`` (or ``CASME2_RAW_selected``) folder. A few rows write the apex as ``/``: that
apex is unknown and becomes ``null`` (the sampler then spreads frames between onset and offset);
the count is logged.
"""
import logging
from typing import Any, Dict, List, Optional

from ._table import Table, convert_rows, row_record, subject_id, to_apex, to_int, to_text

logger = logging.getLogger('mer_clip')

COLUMNS = {
    'subject': ('Subject', ),
    'filename': ('Filename', 'File name'),
    'onset': ('OnsetFrame', 'Onset Frame', 'Onset'),
    'apex': ('ApexFrame', 'Apex Frame', 'Apex'),
    'offset': ('OffsetFrame', 'Offset Frame', 'Offset'),
    'aus': ('Action Units', 'AU', 'AUs'),
    'emotion': ('Estimated Emotion', 'Emotion'),
}


def read_casme2(xlsx_path: str, *, frame_dir_tmpl: str = '{subject}/{filename}',
                filename_tmpl: str = 'img{}.jpg', sheet: Optional[str] = None,
                on_error: str = 'raise') -> List[Dict[str, Any]]:
    """Records of the CASME II coding sheet; subjects are ``sub01`` .. ``sub26``."""
    table = Table(xlsx_path, COLUMNS, sheet=sheet)

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        subject = subject_id(v['subject'], table.where(n, 'subject'), prefix='sub', width=2)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        return row_record(
            table, n, aus_raw=v['aus'], sample_id=f'{subject}_{filename}', subject=subject,
            emotion=to_text(v['emotion'], table.where(n, 'emotion')),
            onset=to_int(v['onset'], table.where(n, 'onset')),
            apex=to_apex(v['apex'], table.where(n, 'apex')),
            offset=to_int(v['offset'], table.where(n, 'offset')),
            frame_dir=frame_dir_tmpl.replace('{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl)

    records = convert_rows(table, row, on_error)
    unknown = sum(r['apex'] is None for r in records)
    if unknown:
        logger.info(f'{xlsx_path}: {unknown} sample(s) without an apex frame (apex=null)')
    return records
