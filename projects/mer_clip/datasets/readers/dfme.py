"""DFME: the label files of its three fixed splits (train / test A / test B) -> canonical records.

DFME (MEGC/CCAC releases) ships one label sheet per split (.xlsx or .csv) with columns like
Subject, Filename, Onset, Apex, Offset, AU, Emotion; the spellings below are all accepted and the
header row may sit below a few note rows. The split of a file comes from its name (``train``,
``test_a``/``testA``/``test A``, ``test_b``/...) or from ``splits``. Subjects are ``sub0008``
style strings (the DFME folder names; a bare ``8`` becomes ``sub0008``).

Frames: we do not know one fixed layout of the DFME frame release, so the default
``frame_dir_tmpl='{filename}'`` and ``filename_tmpl='{}.jpg'`` are assumptions; pass the templates
of your copy (``{subject}``, ``{filename}``, ``{split}`` are filled in per row).
"""
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

from ..class_schemes import DFME_EMOTIONS
from .errors import ReaderError
from .me_rows import check_emotion, convert_rows, read_apex, row_record
from .report import ConversionReport
from .sheet import Table, subject_id, to_int, to_text

COLUMNS = {
    'subject': ('Subject', 'Sub', 'Subject ID'),
    'filename': ('Filename', 'File name', 'Sample', 'Video', 'Clip'),
    'onset': ('Onset', 'Onset Frame', 'OnsetFrame', 'onset_frame'),
    'apex': ('Apex', 'Apex Frame', 'ApexFrame', 'apex_frame'),
    'offset': ('Offset', 'Offset Frame', 'OffsetFrame', 'offset_frame'),
    'aus': ('AU', 'AUs', 'Action Units', 'Action Unit'),
    'emotion': ('Emotion', 'Estimated Emotion', 'Emotion label', 'Label'),
}
SPLIT_PATTERNS = (('train', r'train'), ('test_a', r'test[\s_\-]?a(?![a-z])'),
                  ('test_b', r'test[\s_\-]?b(?![a-z])'))


def split_of_file(path: str) -> str:
    """``train`` / ``test_a`` / ``test_b`` from a label file name (e.g. ``testA_dfme_...txt``)."""
    name = osp.basename(path).lower()
    found = [split for split, pat in SPLIT_PATTERNS if re.search(pat, name)]
    if len(found) != 1:
        raise ReaderError(f'{path}: cannot tell the DFME split from the file name (found '
                          f'{found or "none"}); pass splits=[...] with one of train/test_a/test_b '
                          f'per file')
    return found[0]


def read_dfme(*label_files: str, splits: Optional[Sequence[str]] = None,
              frame_dir_tmpl: str = '{filename}', filename_tmpl: str = '{}.jpg',
              sheet: Optional[str] = None, on_error: str = 'raise', strict: bool = False,
              report=None) -> List[Dict[str, Any]]:
    """Records of DFME label files, one ``split`` per file; sample ids must be unique overall.

    ``report`` / ``strict`` / ``on_error``: as :func:`~.samm.read_samm` (one report for all files).
    """
    report = report if report is not None else ConversionReport(strict)
    if not label_files:
        raise ValueError('read_dfme needs at least one label file')
    if splits is not None and len(splits) != len(label_files):
        raise ValueError(f'splits has {len(splits)} entries for {len(label_files)} files')
    records = []
    for i, path in enumerate(label_files):
        split = splits[i] if splits is not None else split_of_file(path)
        table = Table(path, COLUMNS, optional=('apex', 'aus'), sheet=sheet, report=report,
                      strict=strict)

        def row(n: int, v: Dict[str, Any], split=split, table=table) -> Dict[str, Any]:
            subject = subject_id(v['subject'], table.where(n, 'subject'), prefix='sub', width=4)
            filename = to_text(v['filename'], table.where(n, 'filename'))
            apex = v.get('apex')
            return row_record(
                table, n, aus_raw=v.get('aus'), sample_id=filename, subject=subject,
                emotion=check_emotion(v['emotion'], DFME_EMOTIONS, table.where(n, 'emotion')),
                onset=to_int(v['onset'], table.where(n, 'onset')),
                apex=None if 'apex' not in table.col else read_apex(table, n, apex, filename),
                offset=to_int(v['offset'], table.where(n, 'offset')),
                frame_dir=frame_dir_tmpl.replace('{subject}', subject).replace(
                    '{filename}', filename).replace('{split}', split),
                filename_tmpl=filename_tmpl, split=split)

        records.extend(convert_rows(table, row, on_error))
    return records
