"""The canonical annotation JSON (docs/design.md): build, validate, dump and load records.

One file is an mmengine BaseDataset annotation: ``{"metainfo": {...}, "data_list": [record, ...]}``.
Every reader of a release writes records through :func:`make_record`, and
:class:`MicroExpressionDataset` reads them through :func:`load_annotations`, so both sides check the
same rules: required keys, onset <= apex <= offset, a parsed ``au_list``, unique ``sample_id``.
A record keeps ``au_list`` in its JSON form (``{"au", "side", "intensity"}`` dicts); the dataset
turns it into :class:`~mer_clip.au.codes.AUCode` s (:func:`au_list_from_json`), the only form the
transforms and the prompts take.

A record points at its visual data in one of two ways: a clip (``frame_dir`` + ``filename_tmpl``,
or ``video``), or only derived images (``apex_image`` and/or ``flow_image``, e.g. the MEGC2019
composite published as apex frames and onset-apex flow images). A clip needs integer onset/offset;
an image-only record may leave onset/apex/offset null (they index frames it does not have).

Optional ``landmarks5`` (tools/data/add_landmarks.py, :mod:`mer_clip.preprocessing.landmarks5`):
five facial points in the pixel coordinates of one of the record's images; checked here, passed to
the data info unchanged.
"""
import json
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from mer_clip.au.codes import AUCode, parse_au_string, sort_codes
from mer_clip.utils.atomic_write import atomic_write_json

FORMAT_VERSION = 1
REQUIRED_KEYS = ('sample_id', 'subject', 'emotion', 'aus', 'au_list', 'onset', 'apex', 'offset')
#: per-sample image files (paths relative to ``data_prefix['img']`` or absolute): the image modality
IMAGE_KEYS = ('apex_image', 'flow_image')
#: the order of ``landmarks5.points`` ("left"/"right": the image's left and right)
LANDMARKS5_POINTS = ('left_eye', 'right_eye', 'nose_tip', 'left_mouth', 'right_mouth')


class AnnotationError(ValueError):
    """A record or annotation file that breaks the canonical format; the message says where."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def au_list_from_json(value, where: str) -> List[AUCode]:
    """A record's ``au_list`` (``{"au", "side", "intensity"}`` dicts as in the JSON, or AUCodes)
    as sorted, unique :class:`AUCode` s; an :class:`AnnotationError` names ``where``.

    The one reader of the JSON form: :class:`MicroExpressionDataset` calls it on every record it
    loads, so the pipeline only ever sees AUCodes.
    """
    if not isinstance(value, (list, tuple)):
        raise AnnotationError(f'{where}: au_list must be a list of {{"au", "side", "intensity"}} '
                              f'dicts, got {type(value).__name__} {value!r}')
    codes = []
    for i, item in enumerate(value):
        try:
            codes.append(item if isinstance(item, AUCode) else AUCode.from_dict(item))
        except (ValueError, TypeError) as e:
            raise AnnotationError(f'{where}: bad au_list[{i}] {item!r}: {e}') from None
    return sort_codes(codes)


def au_list_to_json(codes: Iterable[AUCode]) -> List[Dict[str, Any]]:
    """The JSON form of an AU list: one ``{"au", "side", "intensity"}`` dict per code, in order."""
    return [c.to_dict() for c in codes]


def validate_record(record: Dict[str, Any], where: str = 'record') -> Dict[str, Any]:
    """Check one record against the canonical format and return it with ``au_list`` normalised.

    Raises :class:`AnnotationError` whose message starts with ``where`` and names the bad field.
    """
    if not isinstance(record, dict):
        raise AnnotationError(f'{where}: a record must be a dict, got {type(record).__name__}')
    sid = record.get('sample_id')
    if sid is not None:
        where = f'{where} (sample_id={sid!r})'
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise AnnotationError(f'{where}: missing key(s) {missing}; every record needs '
                              f'{list(REQUIRED_KEYS)} plus frame_dir+filename_tmpl, video, or '
                              f'{" / ".join(IMAGE_KEYS)}')
    for key in ('sample_id', 'subject', 'emotion'):
        if not isinstance(record[key], str) or not record[key].strip():
            raise AnnotationError(f'{where}: {key} must be a non-empty string, '
                                  f'got {record[key]!r}')
    if record['aus'] is not None and not isinstance(record['aus'], str):
        raise AnnotationError(f"{where}: aus must be the raw AU string (or null), "
                              f"got {record['aus']!r}")
    for key in IMAGE_KEYS:
        if record.get(key) is not None and (not isinstance(record[key], str) or not record[key]):
            raise AnnotationError(f'{where}: {key} must be a path string, got {record[key]!r}')
    has_frames = record.get('frame_dir') is not None or record.get('filename_tmpl') is not None
    has_video = record.get('video') is not None
    if has_frames and has_video:
        raise AnnotationError(f'{where}: give either frame_dir+filename_tmpl or video, not both')
    if has_video and (not isinstance(record['video'], str) or not record['video']):
        raise AnnotationError(f"{where}: video must be a path string, got {record['video']!r}")
    images_only = not (has_frames or has_video) and any(record.get(k) for k in IMAGE_KEYS)
    if not has_video and not images_only:
        fdir, tmpl = record.get('frame_dir'), record.get('filename_tmpl')
        if not isinstance(fdir, str) or not isinstance(tmpl, str) or not fdir or not tmpl:
            raise AnnotationError(f'{where}: needs frame_dir and filename_tmpl (strings), video, '
                                  f'or an image ({" / ".join(IMAGE_KEYS)}), got '
                                  f'frame_dir={fdir!r} filename_tmpl={tmpl!r}')
    onset, apex, offset = record['onset'], record['apex'], record['offset']
    if images_only and onset is None and offset is None:
        if apex is not None:  # no frame numbers to check it against
            raise AnnotationError(f'{where}: apex {apex!r} without onset/offset; an image-only '
                                  'record leaves all three null or gives all of them')
    else:
        _check_frame_numbers(onset, apex, offset, where)
    if has_frames:
        try:
            record['filename_tmpl'].format(onset)
        except (IndexError, KeyError, ValueError) as e:
            raise AnnotationError(f"{where}: filename_tmpl {record['filename_tmpl']!r} cannot "
                                  f'format a frame number ({e}); write it like '
                                  '"img_{:05d}.jpg"') from None
    if record.get('split') is not None and not isinstance(record['split'], str):
        raise AnnotationError(f"{where}: split must be a string, got {record['split']!r}")
    total = record.get('total_frames')
    if total is not None and (not _is_int(total) or total <= 0):
        raise AnnotationError(f'{where}: total_frames must be a positive integer, got {total!r}')
    if total is not None and onset is not None and offset - onset + 1 > total:
        raise AnnotationError(f'{where}: onset..offset = {onset}..{offset} spans '
                              f'{offset - onset + 1} frames but total_frames is {total}')
    if total is not None and has_video and offset >= total:
        raise AnnotationError(f'{where}: offset {offset} is past the last frame of the video '
                              f'(total_frames {total}, indices are 0-based)')
    if record.get('landmarks5') is not None:
        _check_landmarks5(record['landmarks5'], where)
    out = dict(record)
    out['subject'] = record['subject'].strip()  # 's02 ' and 's02' are one subject (one fold)
    out['au_list'] = au_list_to_json(au_list_from_json(record['au_list'], where))
    return out


def _check_landmarks5(value, where: str) -> None:
    """``landmarks5`` = {points: 5 [x, y], image: record key, size: [W, H], stage, ...}."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if not isinstance(value, dict):
        raise AnnotationError(f'{where}: landmarks5 must be a dict, got {type(value).__name__}')
    pts = value.get('points')
    if not (isinstance(pts, list) and len(pts) == 5 and all(
            isinstance(p, list) and len(p) == 2 and all(number(v) for v in p) for p in pts)):
        raise AnnotationError(f'{where}: landmarks5.points must be 5 [x, y] number pairs in the '
                              f'order {list(LANDMARKS5_POINTS)}, got {pts!r}; recompute them with '
                              'tools/data/add_landmarks.py')
    size = value.get('size')
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) and v > 0 for v in size)):
        raise AnnotationError(f'{where}: landmarks5.size must be [width, height] of the image the '
                              f'points are in, got {size!r}')
    if not isinstance(value.get('image'), str) or not value['image']:
        raise AnnotationError(f'{where}: landmarks5.image must name the image the points are in '
                              f'(e.g. "apex_image"), got {value.get("image")!r}')


def _check_frame_numbers(onset, apex, offset, where: str) -> None:
    if not _is_int(onset) or not _is_int(offset) or onset < 0:
        raise AnnotationError(f'{where}: onset and offset must be non-negative integers, '
                              f'got onset={onset!r} offset={offset!r}')
    if onset > offset:
        raise AnnotationError(f'{where}: onset {onset} > offset {offset}')
    if apex is not None and not _is_int(apex):
        raise AnnotationError(f'{where}: apex must be an integer frame number (or null when '
                              f'unknown), got {apex!r}')
    if apex is not None and not onset <= apex <= offset:
        raise AnnotationError(f'{where}: apex {apex!r} is outside [onset, offset] = '
                              f'[{onset}, {offset}] (use null when the apex is unknown)')


def make_record(*, sample_id: str, subject: str, emotion: str, aus: Optional[str],
                onset: Optional[int] = None, offset: Optional[int] = None,
                apex: Optional[int] = None,
                au_list: Optional[Sequence] = None, frame_dir: Optional[str] = None,
                filename_tmpl: Optional[str] = None, video: Optional[str] = None,
                apex_image: Optional[str] = None, flow_image: Optional[str] = None,
                split: Optional[str] = None, total_frames: Optional[int] = None,
                where: str = 'record', **extra) -> Dict[str, Any]:
    """Build one validated canonical record.

    ``au_list`` defaults to ``parse_au_string(aus)``; it may be :class:`AUCode` s or dicts.
    A clip record needs onset/offset; an image-only record (``apex_image`` / ``flow_image``, no
    frames or video) may leave onset/apex/offset None.
    Optional keys left at None are not written. ``extra`` keys (JSON values) are kept as given.
    """
    if au_list is None:
        au_list = parse_au_string(aus, where=where)
    record = dict(sample_id=sample_id, subject=subject, emotion=emotion, aus=aus,
                  au_list=list(au_list) if isinstance(au_list, tuple) else au_list,
                  onset=onset, apex=apex, offset=offset)
    for key, value in dict(frame_dir=frame_dir, filename_tmpl=filename_tmpl, video=video,
                           apex_image=apex_image, flow_image=flow_image, split=split,
                           total_frames=total_frames, **extra).items():
        if value is not None:
            record[key] = value
    return validate_record(record, where)


def validate_records(records: Iterable[Dict[str, Any]], source: str = '') -> List[Dict[str, Any]]:
    """Validate a list of records: each one, and that no sample_id repeats."""
    out, seen = [], {}
    prefix = f'{source}: ' if source else ''
    for i, rec in enumerate(records):
        rec = validate_record(rec, f'{prefix}data_list[{i}]')
        sid = rec['sample_id']
        if sid in seen:
            raise AnnotationError(f'{prefix}data_list[{i}] (sample_id={sid!r}): duplicated '
                                  f'sample_id, first at data_list[{seen[sid]}]; sample ids '
                                  f'must be unique')
        seen[sid] = i
        out.append(rec)
    return out


def dump_annotations(records: Iterable[Dict[str, Any]], path: str,
                     metainfo: Optional[Dict[str, Any]] = None) -> str:
    """Validate ``records`` and write them as the canonical JSON at ``path``; returns ``path``."""
    data_list = validate_records(records, source=str(path))
    meta = dict(metainfo or {})
    meta.setdefault('format_version', FORMAT_VERSION)
    atomic_write_json(path, {'metainfo': meta, 'data_list': data_list}, indent=1, end='\n',
                      ensure_ascii=False)
    return path


def load_annotations(path: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Read and validate a canonical annotation JSON; returns ``(metainfo, data_list)``."""
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except FileNotFoundError:
        raise AnnotationError(f'{path}: annotation file not found; create it with '
                              f'tools/data/convert_annotations.py') from None
    except json.JSONDecodeError as e:
        raise AnnotationError(f'{path}: not valid JSON ({e})') from None
    if not isinstance(content, dict) or not isinstance(content.get('data_list'), list):
        raise AnnotationError(f'{path}: expected {{"metainfo": {{...}}, "data_list": [...]}} '
                              f'(the canonical annotation format, docs/design.md)')
    meta = content.get('metainfo', {})
    if not isinstance(meta, dict):
        raise AnnotationError(f'{path}: metainfo must be a dict, got {type(meta).__name__}')
    version = meta.get('format_version', FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise AnnotationError(f'{path}: format_version {version!r} is not supported (this code '
                              f'reads version {FORMAT_VERSION}); regenerate the file')
    return meta, validate_records(content['data_list'], source=str(path))
