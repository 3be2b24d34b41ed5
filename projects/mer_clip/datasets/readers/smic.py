"""SMIC: the SMIC-HS release's folder layout, and the SMIC-E ``HS`` sheet -> canonical records.

**SMIC-HS (trimmed clips, the MEGC2019 part).** The release has no annotation sheet: the folder
layout is the label. Under the ``HS`` folder (high-speed camera, 100 fps; ``VIS``/``NIR`` are the
other cameras) every subject folder holds ``micro/<negative|positive|surprise>/<clip>/`` with the
clip's frames (``non_micro/`` holds non-ME clips and is not read)::

    HS/s1/micro/negative/s1_ne_01/<frames>
    HS/s20/micro/surprise/s20_sur_05/<frames>

Checked against public code that reads the release: MEB (tvaranka/meb,
``meb/datasets/datasets.py``: ``dataset_path_format = "/{subject}/micro/{emotion}/{material}/"``
for ``SMIC/HS`` and ``SMIC_all_cropped/HS``; frames are sorted by the number in their file name)
and other MER repositories that list ``<subject>/micro/negative|positive|surprise/<clip>``. The
frame files are named by a prefix and the frame's number in the recording; :func:`read_smic_hs`
infers the template from the files of each clip instead of assuming one (onset = first, offset =
last frame; SMIC has no apex, so apex is null and sampling is uniform). 164 clips of 16 subjects
(negative 70, positive 51, surprise 43), the SMIC part of the MEGC2019 composite.

Ids: the release writes ``s1`` / ``s1_ne_01``, the MEGC2019 list ``s01`` / ``s01_ne_01``. We use
the padded form (:func:`smic_ids`) and keep the release's folder names in ``frame_dir``.

**SMIC-E (extended, long clips).** ``SMIC-HS-E_annotation.xlsx``, sheet ``HS``: 157 clips of 16
subjects (negative 66, positive 51, surprise 40) with OnsetF/OffsetF of the ME in the frame
numbering of the long recording, FirstF/LastF of the clip, and up to two more MEs of the same clip
(Onset2F/Offset2F, Onset3F/Offset3F). Its cells are formulas; their cached values are read (a CSV
export works the same). :func:`read_smic_e` keeps the first ME as onset/offset, the clip range as
``clip_range`` and valid further MEs as ``more_intervals``; the sheet's faults are warnings of the
conversion report: invalid third intervals (s18/s20 rows whose Onset3F lies before the clip),
s1_ne_03 (ME outside its clip range), s18_sur_03 (file name says surprise, Emotion says negative:
the sheet's Emotion is kept). The seven clips of SMIC-HS that SMIC-E lacks are s01_ne_02,
s02_sur_05, s03_ne_03, s03_ne_20, s04_ne_05, s04_ne_06, s09_sur_02. The SMIC-E frame folders are
not described by the sheet: the default templates (``<s20>/<s20_ne_01>/image<frame>.bmp``) are an
assumption; pass the ones of your copy.
"""
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

from ..annotation import AnnotationError, make_record
from ..frame_names import infer_frame_template
from .errors import ReaderError
from .me_rows import check_emotion, convert_rows, row_record
from .report import ConversionReport
from .sheet import Table, to_int, to_text

SMIC_EMOTIONS = ('negative', 'positive', 'surprise')
#: class code in a SMIC clip name -> emotion
CLIP_CODES = {'ne': 'negative', 'po': 'positive', 'sur': 'surprise'}
_CLIP_RE = re.compile(r's(\d+)_([a-z]+)_(\d+)', re.IGNORECASE)
_SUBJECT_RE = re.compile(r's(\d+)', re.IGNORECASE)


def smic_ids(subject: Any, clip: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """``('s1', 's1_ne_01') -> ('s01', 's01_ne_01')``; a subject may be ``1``, ``'s1'`` or
    ``'s01'``."""
    text = str(int(subject)) if isinstance(subject, (int, float)) else str(subject).strip()
    m = _SUBJECT_RE.fullmatch(text) or re.fullmatch(r'(\d+)', text)
    if m is None:
        raise ValueError(f'SMIC subject {subject!r} is not s<number> or a number')
    subj = f's{int(m.group(1)):02d}'
    if clip is None:
        return subj, None
    c = _CLIP_RE.fullmatch(str(clip).strip())
    if c is None:
        raise ValueError(f'SMIC clip {clip!r} is not s<subject>_<ne|po|sur>_<number>')
    return subj, f's{int(c.group(1)):02d}_{c.group(2).lower()}_{c.group(3)}'


def _is_subject_dir(path: str) -> bool:
    return _SUBJECT_RE.fullmatch(osp.basename(path)) is not None and osp.isdir(
        osp.join(path, 'micro'))


def find_hs_root(root: str, max_depth: int = 3) -> str:
    """The folder holding ``s<N>/micro/`` subject folders: ``root`` itself, or the first one
    below it (breadth first; a folder named ``HS`` wins over ``VIS`` / ``NIR``)."""
    level = [root]
    for _ in range(max_depth + 1):
        hits = [d for d in level if any(_is_subject_dir(osp.join(d, e)) for e in _listdir(d))]
        if hits:
            hits.sort(key=lambda d: (osp.basename(d).upper() != 'HS', d))
            return hits[0]
        level = [osp.join(d, e) for d in level for e in _listdir(d)
                 if osp.isdir(osp.join(d, e)) and not e.startswith('.')]
    raise ReaderError(f'{root}: no SMIC subject folders (s<N>/micro/<emotion>/<clip>/) found '
                      f'(searched {max_depth} levels deep); pass the SMIC-HS release folder')


def _listdir(path: str) -> List[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def frame_template(clip_dir: str) -> Tuple[str, List[int]]:
    """``(filename_tmpl, sorted frame numbers)`` inferred from a clip folder's image files."""
    try:
        return infer_frame_template(clip_dir)
    except ValueError as e:
        raise ReaderError(str(e)) from None


def read_smic_hs(root: str, *, strict: bool = False, report=None, on_error: str = 'raise'
                 ) -> List[Dict[str, Any]]:
    """Records of the SMIC-HS release's folder layout (see the module docstring).

    ``frame_dir`` is relative to ``root`` as given (e.g. ``HS/s1/micro/negative/s1_ne_01``).
    """
    report = report if report is not None else ConversionReport(strict)
    report.strict = report.strict or strict
    report.sources.append(str(root))
    if not osp.isdir(root):
        raise ReaderError(f'{root}: not a folder; smic reads the SMIC-HS release folder')
    hs = find_hs_root(root)
    records, errors, ignored = [], [], 0
    subjects = [e for e in _listdir(hs) if _is_subject_dir(osp.join(hs, e))]
    for subj_folder in sorted(subjects, key=lambda s: int(s[1:])):
        ignored += sum(osp.isdir(osp.join(hs, subj_folder, e)) and e != 'micro'
                       for e in _listdir(osp.join(hs, subj_folder)))
        micro = osp.join(hs, subj_folder, 'micro')
        for emo_folder in _listdir(micro):
            emo_dir = osp.join(micro, emo_folder)
            if not osp.isdir(emo_dir):
                continue
            try:
                emotion = check_emotion(emo_folder.lower(), SMIC_EMOTIONS, emo_dir)
            except ReaderError as e:
                errors.append(str(e))
                continue
            for clip in _listdir(emo_dir):
                clip_dir = osp.join(emo_dir, clip)
                if not osp.isdir(clip_dir):
                    continue
                try:
                    subject, sid = smic_ids(subj_folder, clip)
                    rec = _hs_record(root, clip_dir, subj_folder, clip, subject, sid, emotion,
                                     report, make_record)
                except (ReaderError, AnnotationError, ValueError) as e:
                    errors.append(f'{clip_dir}: {e}' if clip_dir not in str(e) else str(e))
                    continue
                records.append(rec)
    if errors and on_error == 'raise':
        raise ReaderError(f'{hs}: {len(errors)} clip folder(s) cannot be read:\n  '
                          + '\n  '.join(errors) + "\nFix them, or rerun with --on-error skip "
                          "(Python: on_error='skip') to drop them, counted")
    for msg in errors:
        report.warn('clip_skipped', hs, msg, action='clip dropped')
    if not records:
        raise ReaderError(f'{hs}: no SMIC clip found under <subject>/micro/<emotion>/')
    report.note('ids_normalised', hs, f'{len(records)} clips: subject and clip ids written with '
                'two-digit subjects (s1 -> s01, s1_ne_01 -> s01_ne_01) as in the MEGC2019 list; '
                'frame_dir keeps the folder names')
    if ignored:
        report.note('folders_ignored', hs, f'{ignored} folder(s) beside micro/ (e.g. non_micro) '
                    'are not micro-expressions and were not read')
    return records


def _hs_record(root, clip_dir, subj_folder, clip, subject, sid, emotion, report, make_record):
    code = _CLIP_RE.fullmatch(clip).group(2).lower()
    if CLIP_CODES.get(code) != emotion:
        report.warn('label_mismatch', clip_dir, f'clip name {clip!r} says '
                    f'{CLIP_CODES.get(code, code)!r}, its folder {emotion!r}', sample_id=sid,
                    raw=clip, action='the folder (the label) is kept')
    if _SUBJECT_RE.fullmatch(clip.split('_')[0]).group(1).lstrip('0') != subj_folder[1:].lstrip(
            '0'):
        report.warn('subject_mismatch', clip_dir, f'clip {clip!r} lies in subject folder '
                    f'{subj_folder!r}', sample_id=sid, raw=clip, action='the folder is kept')
    tmpl, numbers = frame_template(clip_dir)
    onset, offset = numbers[0], numbers[-1]
    gaps = offset - onset + 1 - len(numbers)
    if gaps:
        report.warn('frames_missing', clip_dir, f'{gaps} frame number(s) missing between {onset} '
                    f'and {offset}', sample_id=sid,
                    action='kept; preparing the clip needs every frame of onset..offset')
    return make_record(sample_id=sid, subject=subject, emotion=emotion, aus=None, au_list=[],
                       onset=onset, apex=None, offset=offset,
                       frame_dir=osp.relpath(clip_dir, root), filename_tmpl=tmpl,
                       # the frame files present; unknown when some are missing (warned above)
                       total_frames=None if gaps else len(numbers), where=clip_dir)


SMIC_E_COLUMNS = {
    'subject': ('Subject', ),
    'filename': ('Filename', 'File name'),
    'onset': ('OnsetF', 'Onset', 'Onset Frame'),
    'offset': ('OffsetF', 'Offset', 'Offset Frame'),
    'onset2': ('Onset2F', ),
    'offset2': ('Offset2F', ),
    'onset3': ('Onset3F', ),
    'offset3': ('Offset3F', ),
    'first': ('FirstF', 'First Frame'),
    'last': ('LastF', 'Last Frame'),
    'emotion': ('Emotion', ),
}


def read_smic_e(xlsx_path: str, *, sheet: Optional[str] = None,
                frame_dir_tmpl: str = '{subject_folder}/{filename}',
                filename_tmpl: str = 'image{}.bmp', on_error: str = 'raise',
                strict: bool = False, report=None) -> List[Dict[str, Any]]:
    """Records of the SMIC-E annotation (sheet ``HS`` of an xlsx by default; see module doc)."""
    if sheet is None and str(xlsx_path).lower().endswith(('.xlsx', '.xlsm')):
        sheet = 'HS'
    optional = ('onset2', 'offset2', 'onset3', 'offset3', 'first', 'last')
    table = Table(xlsx_path, SMIC_E_COLUMNS, optional=optional, sheet=sheet, report=report,
                  strict=strict)

    def opt_int(n, v, field):
        value = v.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return to_int(value, table.where(n, field))

    def row(n: int, v: Dict[str, Any]) -> Dict[str, Any]:
        written = to_text(v['filename'], table.where(n, 'filename'))
        try:
            subject, sid = smic_ids(v['subject'], written)
        except ValueError as e:
            raise ReaderError(f'{table.where(n)}: {e}') from None
        if sid.split('_')[0] != subject:
            table.report.warn('subject_mismatch', table.where(n, 'filename'),
                              f'file {written!r} is not of subject {subject!r}', sample_id=sid,
                              raw=written, action='the Subject column is kept')
        emotion = check_emotion(v['emotion'], SMIC_EMOTIONS, table.where(n, 'emotion'))
        code = sid.split('_')[1]
        if CLIP_CODES.get(code) != emotion.lower():
            table.report.warn('label_mismatch', table.where(n, 'emotion'),
                              f'file name {written!r} says {CLIP_CODES.get(code, code)!r}, the '
                              f'Emotion column {emotion!r}', sample_id=sid, raw=emotion,
                              action='the Emotion column is kept')
        onset, offset = to_int(v['onset'], table.where(n, 'onset')), to_int(
            v['offset'], table.where(n, 'offset'))
        first, last = opt_int(n, v, 'first'), opt_int(n, v, 'last')
        clip = [first, last] if first is not None and last is not None else None
        if clip and not clip[0] <= onset <= offset <= clip[1]:
            table.report.warn('interval_outside_clip', table.where(n),
                              f'ME {onset}..{offset} is not inside the clip {clip[0]}..{clip[1]} '
                              '(FirstF..LastF)', sample_id=sid, raw=[onset, offset] + clip,
                              action='kept as written')
        more, seen = [], [(onset, offset)]
        for a, b in (('onset2', 'offset2'), ('onset3', 'offset3')):
            on2, off2 = opt_int(n, v, a), opt_int(n, v, b)
            if on2 is None and off2 is None:
                continue
            if on2 is None or off2 is None or on2 > off2 or (
                    clip and not clip[0] <= on2 <= off2 <= clip[1]):
                table.report.warn('extra_interval_invalid', table.where(n, a),
                                  f'further ME {on2}..{off2} is not a valid interval inside the '
                                  f'clip {clip}', sample_id=sid, raw=[on2, off2],
                                  action='this further interval is dropped, the sample kept')
            elif (on2, off2) in seen:
                table.report.note('extra_interval_duplicate', table.where(n, a),
                                  f'further ME {on2}..{off2} repeats an earlier one',
                                  sample_id=sid, raw=[on2, off2], action='kept once')
            else:
                seen.append((on2, off2))
                more.append([on2, off2])
        folder = written.split('_')[0]
        return row_record(
            table, n, aus_raw=None, sample_id=sid, subject=subject, emotion=emotion,
            onset=onset, apex=None, offset=offset,
            frame_dir=frame_dir_tmpl.replace('{subject_folder}', folder).replace(
                '{subject}', subject).replace('{filename}', written),
            filename_tmpl=filename_tmpl, clip_range=clip, more_intervals=more or None)

    return convert_rows(table, row, on_error)
