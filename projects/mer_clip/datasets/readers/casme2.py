"""CASME II: ``CASME2-coding-20190701.xlsx`` (or the 2014 sheet, or a CSV export) -> records.

Two revisions of the coding sheet circulate. The 2019 revision (``CASME2-coding-20190701.xlsx``,
with an Objective Classes column) is the one behind the MER-CLIP paper's Table III and the
authors' lists: it relabels three sub24 samples from sadness to surprise (5-class: 249 samples;
the 2014 sheet gives 246) and revises the AU cells of 57 samples. Both read the same way; reading
the 2014 sheet adds a ``casme2_revision`` note to the conversion report.

Columns: Subject, Filename, (unnamed), OnsetFrame, ApexFrame, OffsetFrame, (unnamed), Action Units,
Estimated Emotion[, Objective Classes]. Subject ``1`` is the folder ``sub01``, and that folder name
is our subject id (as SAMM's "006", CAS(ME)^3's "spNO.001", DFME's "sub0008": the release's own
subject folder). Filenames repeat across subjects (EP02_01f), so ``sample_id`` is
``sub01_EP02_01f``.

Frames: ``CASME2-RAW/sub01/EP02_01f/img46.jpg`` (no zero padding); frame_dir is relative to
the ``CASME2-RAW`` (or ``CASME2_RAW_selected``) folder. A row writes the apex as ``/``: that
apex is unknown and becomes ``null`` (the sampler then spreads frames between onset and offset);
it is a note of the conversion report.
"""
import logging
from typing import Any, Dict, List, Optional

from ..class_schemes import CASME2_EMOTIONS
from .me_rows import ME_SHEET_COLUMNS, convert_rows, me_sheet_record
from .sheet import Table, subject_id, to_text

logger = logging.getLogger('mer_clip')


def read_casme2(xlsx_path: str, *, frame_dir_tmpl: str = '{subject}/{filename}',
                filename_tmpl: str = 'img{}.jpg', sheet: Optional[str] = None,
                on_error: str = 'raise', strict: bool = False, report=None
                ) -> List[Dict[str, Any]]:
    """Records of the CASME II coding sheet; subjects are ``sub01`` .. ``sub26``."""
    table = Table(xlsx_path, ME_SHEET_COLUMNS, optional=('objective_class', ), sheet=sheet,
                  report=report, strict=strict)
    if 'objective_class' not in table.col:
        table.report.note('casme2_revision', table.path,
                          'no Objective Classes column: this is the 2014 coding sheet; the 2019 '
                          'revision (CASME2-coding-20190701.xlsx) is the one behind Table III '
                          '(3 sadness samples relabelled surprise, 57 AU cells revised)')

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        subject = subject_id(v['subject'], table.where(n, 'subject'), prefix='sub', width=2)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        return me_sheet_record(
            table, n, v, sample_id=f'{subject}_{filename}', subject=subject,
            emotions=CASME2_EMOTIONS,
            frame_dir=frame_dir_tmpl.replace('{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl)

    records = convert_rows(table, row, on_error)
    unknown = sum(r['apex'] is None for r in records)
    if unknown:
        logger.info(f'{xlsx_path}: {unknown} sample(s) without an apex frame (apex=null)')
    return records
