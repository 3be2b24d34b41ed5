"""CAS(ME)^3 part A: ``CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx`` -> canonical records.

Columns: Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion (the "JpgIndex"
version gives onset/apex/offset as the numbers of the extracted JPEG frames). Subjects are written
``spNO.1`` in the release and ``spNO.001`` in the MER-CLIP authors' lists; we use the padded form
as subject id so both sources give the same LOSO folds, and keep the sheet's spelling for folders.
A video (Filename ``a``..``m``) holds several MEs, so ``sample_id`` is
``<subject>_<filename>_<onset:04d>``, the pattern of the authors' names (``spNO.001_j_0102``).

Frames of part A: ``<root>/<Subject as written>/<Filename>/color/<frame>.jpg`` (no padding), e.g.
``part_A/spNO.1/a/color/355.jpg``; both templates are arguments.
"""
from typing import Any, Dict, List, Optional

from ._table import Table, convert_rows, row_record, subject_id, to_apex, to_int, to_text

COLUMNS = {
    'subject': ('Subject', ),
    'filename': ('Filename', 'File name'),
    'onset': ('Onset', 'Onset Frame', 'OnsetFrame'),
    'apex': ('Apex', 'Apex Frame', 'ApexFrame'),
    'offset': ('Offset', 'Offset Frame', 'OffsetFrame'),
    'aus': ('AU', 'AUs', 'Action Units'),
    'emotion': ('emotion', 'Estimated Emotion'),
    'objective_class': ('Objective class', 'Objective classes'),
}


def read_casme3(xlsx_path: str, *, frame_dir_tmpl: str = '{subject_folder}/{filename}/color',
                filename_tmpl: str = '{}.jpg', sheet: Optional[str] = None,
                on_error: str = 'raise') -> List[Dict[str, Any]]:
    """Records of the CAS(ME)^3 part A ME sheet; subjects are ``spNO.001`` style strings."""
    table = Table(xlsx_path, COLUMNS, optional=('objective_class', ), sheet=sheet)

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        folder = to_text(v['subject'], table.where(n, 'subject'))
        subject = subject_id(folder, table.where(n, 'subject'), prefix='spNO.', width=3)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        onset = to_int(v['onset'], table.where(n, 'onset'))
        oc = v.get('objective_class')
        return row_record(
            table, n, aus_raw=v['aus'], sample_id=f'{subject}_{filename}_{onset:04d}',
            subject=subject, emotion=to_text(v['emotion'], table.where(n, 'emotion')),
            onset=onset, apex=to_apex(v['apex'], table.where(n, 'apex')),
            offset=to_int(v['offset'], table.where(n, 'offset')),
            frame_dir=frame_dir_tmpl.replace('{subject_folder}', folder).replace(
                '{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl,
            objective_class=None if oc is None else to_text(oc, table.where(n, 'objective_class')))

    return convert_rows(table, row, on_error)
