"""CAS(ME)^3 part A: ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (or a CSV export) -> records.

Columns: Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion (the "JpgIndex"
version gives onset/apex/offset as the numbers of the extracted JPEG frames; every cell is stored
as text). Subjects are written ``spNO.1`` in the release and ``spNO.001`` in the MER-CLIP authors'
lists; we use the padded form as subject id so both sources give the same LOSO folds, and keep the
sheet's spelling for folders. A video (Filename ``a``..``m``) holds several MEs, so ``sample_id``
is ``<subject>_<filename>_<onset:04d>``, the pattern of the authors' names (``spNO.001_j_0102``).
Three rows write the emotion ``Others`` among 158 ``others``: one emotion (a report note).

**The dataset's own list of wrongly labelled MEs.** The release ships
``CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx`` beside the label sheet: 22 MEs of the first
version, as they were written there (two blocks, no header). Most are gone from v2; four are still
in it, and they are exactly the four rows of v2 whose frame numbers contradict each other
(spNO.149 d: apex 83 before onset 112; spNO.216 d: onset 3647 after offset 2694; spNO.40 e, two
rows: offset 0). With ``wrong_list='auto'`` (default) the list is read when it sits beside the
sheet; every sheet row it names (same subject, filename and onset) gets
``listed_wrongly_labelled: true`` and a ``listed_wrongly_labelled`` warning, and
``drop_listed=True`` drops those rows (counted) instead of keeping them. The list's own frame
numbers are the first version's, which the authors call wrong, so they are not used as
corrections; the frame numbers follow :mod:`.frame_policy` (apex null, offset := apex,
onset := apex respectively). The MER-CLIP authors' lists leave out the three ``others`` rows with
onset > offset (their 860 - 3 = 857). One more row (spNO.216 e, onset and apex 0) lies before the
first JPEG index 1: onset 1, apex unknown (``before_first_frame``; the authors' lists name it
``spNO.216_e_0001``, the sample id here keeps the sheet's onset: ``spNO.216_e_0000``).

Frames of part A: ``<root>/<Subject as written>/<Filename>/color/<frame>.jpg`` (no padding), e.g.
``part_A/spNO.1/a/color/355.jpg``; both templates are arguments.
"""
import glob
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

from ..class_schemes import CASME3_EMOTIONS
from .errors import ReaderError
from .me_rows import ME_SHEET_COLUMNS, convert_rows, me_sheet_record
from .sheet import Table, read_rows, subject_id, to_int, to_text

#: how the release names its list of wrongly labelled MEs (matched case-insensitively)
WRONG_LIST_PATTERN = re.compile(r'.*wrong.*label.*\.(xlsx|csv)$', re.IGNORECASE)


def find_wrong_list(sheet_path: str) -> Optional[str]:
    """The release's list of wrongly labelled MEs beside the label sheet, or None."""
    folder = osp.dirname(osp.abspath(sheet_path))
    hits = sorted(p for p in glob.glob(osp.join(glob.escape(folder), '*'))
                  if WRONG_LIST_PATTERN.match(osp.basename(p))
                  and osp.abspath(p) != osp.abspath(sheet_path))
    return hits[0] if hits else None


def read_wrong_list(path: str) -> Dict[Tuple[str, str, int], Tuple[int, List[Any]]]:
    """``{(subject, filename, onset): (row, [onset, apex, offset] as listed)}`` of the authors'
    list: every row whose first cells are a ``spNO.<n>`` subject, a filename and an onset."""
    out = {}
    for i, row in enumerate(read_rows(path, None), start=1):
        cells = list(row) + [None] * 5
        subj = str(cells[0]).strip() if cells[0] is not None else ''
        if not re.fullmatch(r'spNO\.\d+', subj, re.IGNORECASE) or cells[1] is None:
            continue
        try:
            onset = to_int(cells[2], f'{path}, row {i}')
        except ReaderError:
            continue
        frames = []
        for c in cells[2:5]:
            try:
                frames.append(to_int(c, ''))
            except ReaderError:
                frames.append(c)
        key = (subject_id(subj, f'{path}, row {i}', prefix='spNO.', width=3),
               str(cells[1]).strip(), onset)
        out[key] = (i, frames)
    return out


def read_casme3(xlsx_path: str, *, frame_dir_tmpl: str = '{subject_folder}/{filename}/color',
                filename_tmpl: str = '{}.jpg', sheet: Optional[str] = None,
                on_error: str = 'raise', strict: bool = False, report=None,
                wrong_list: Optional[str] = 'auto', drop_listed: bool = False,
                first_frame: int = 1) -> List[Dict[str, Any]]:
    """Records of the CAS(ME)^3 part A ME sheet; subjects are ``spNO.001`` style strings.

    ``wrong_list``: the release's list of wrongly labelled MEs (``'auto'``: found beside the sheet;
    None: not used); ``drop_listed``: drop the rows it names instead of flagging them;
    ``first_frame``: the first JPEG index of the release (frame numbers below it are repaired).
    """
    table = Table(xlsx_path, ME_SHEET_COLUMNS, optional=('objective_class', ), sheet=sheet,
                  report=report, strict=strict)

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        folder = to_text(v['subject'], table.where(n, 'subject'))
        subject = subject_id(folder, table.where(n, 'subject'), prefix='spNO.', width=3)
        filename = to_text(v['filename'], table.where(n, 'filename'))
        onset = to_int(v['onset'], table.where(n, 'onset'))
        return me_sheet_record(
            table, n, v, sample_id=f'{subject}_{filename}_{onset:04d}', subject=subject,
            emotions=CASME3_EMOTIONS, onset=onset,
            frame_dir=frame_dir_tmpl.replace('{subject_folder}', folder).replace(
                '{subject}', subject).replace('{filename}', filename),
            filename_tmpl=filename_tmpl, first_frame=first_frame)

    records = convert_rows(table, row, on_error)
    if wrong_list == 'auto':
        wrong_list = find_wrong_list(xlsx_path)
    if wrong_list:
        records = apply_wrong_list(records, wrong_list, table.report, drop_listed)
    return records


def apply_wrong_list(records: List[Dict[str, Any]], list_path: str, report,
                     drop: bool = False) -> List[Dict[str, Any]]:
    """Flag (or drop) the records the authors' list names; see the module docstring."""
    listed = read_wrong_list(list_path)
    name = osp.basename(list_path)
    report.sources.append(list_path)
    out, found = [], set()
    for rec in records:
        sheet_onset = (rec.get('frame_repair') or {}).get('sheet', [rec['onset']])[0]
        sid = rec['sample_id']
        key = (rec['subject'], sid[len(rec['subject']) + 1:sid.rindex('_')], sheet_onset)
        if key not in listed:
            out.append(rec)
            continue
        found.add(key)
        row, frames = listed[key]
        msg = (f'the dataset authors list this ME as wrongly labelled ({name}, row {row}: '
               f'onset/apex/offset {frames} in the first version)')
        report.warn('listed_wrongly_labelled', rec['sample_id'], msg, sample_id=rec['sample_id'],
                    raw=frames, action='dropped (drop_listed)' if drop else
                    'kept, flagged listed_wrongly_labelled (--drop-listed drops it)')
        if not drop:
            out.append(dict(rec, listed_wrongly_labelled=True))
    report.note('wrong_list', list_path,
                f'{len(listed)} MEs listed as wrongly labelled; {len(found)} are rows of the sheet '
                f'({"dropped" if drop else "flagged"}), {len(listed) - len(found)} are not in it')
    return out
