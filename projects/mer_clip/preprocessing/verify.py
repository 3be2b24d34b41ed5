"""Verify a prepared dataset: every frame a clip may sample exists and decodes completely.

:func:`verify_dataset` reads a canonical annotation file and checks, per clip:

- frame folders: every frame of onset..offset exists and decodes fully (:func:`read_image`, which
  refuses cut-off JPEGs that OpenCV would fill with grey), all frames have one size, and a folder
  written by ``prepare_dataset.py`` holds the number of frames its ``clip.json`` records;
- clip caches (``clip_cache``): the ``.npy`` loads, is uint8 (T, H, W, 3) and T matches the
  ``clip_len`` the annotation's ``metainfo['prepared']`` records;
- video files: the file opens and holds frame ``offset``;
- derived images (``apex_image``, ``flow_image``: the image modality, e.g. the published MEGC2019
  composite, whose records have nothing else): each exists and decodes fully (:func:`read_image`);

and, over the dataset, that every clip folder under the frames root belongs to a record. It never
raises for a bad clip: the problems are collected in the returned report (also written as JSON by
``tools/data/check_dataset.py`` and at the end of ``prepare_dataset.py``). A dataset without any
clip is not ok: nothing was verified (an empty ``data_list`` is a failed conversion, not a clean
dataset).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mer_clip.datasets.annotation import IMAGE_KEYS, load_annotations
from mer_clip.datasets.frame_names import frame_numbers
from mer_clip.utils.image_io import ImageReadError, read_image

from .clip_pool import map_clips
from .face_align import alignment_summary
from .frames import CLIP_META


def verify_record(record: dict, root: str = '', clip_len: Optional[int] = None) -> List[Dict]:
    """The problems of one record (empty when the clip is fine): ``{sample_id, file, problem}``."""
    sid = record.get('sample_id', '?')
    problems = []

    def bad(path, problem):
        problems.append(dict(sample_id=sid, file=path, problem=problem))

    def join(p):
        return p if (not root or osp.isabs(p)) else osp.join(root, p)

    for key in IMAGE_KEYS:
        if record.get(key):
            path = join(record[key])
            if not osp.isfile(path):
                bad(path, f'{key} not found')
                continue
            try:
                read_image(path, rgb=False)
            except ImageReadError as e:
                bad(path, str(e))
    if not (record.get('video') or record.get('frame_dir')):
        return problems  # an image-only record: no frames, onset..offset may be null
    onset, offset = int(record['onset']), int(record['offset'])
    if record.get('video'):
        path = join(record['video'])
        try:
            import decord  # here: needed for video records only, as in mmaction's loaders
            n = len(decord.VideoReader(path, num_threads=1))
            if offset >= n:
                bad(path, f'offset {offset} but the video has {n} frames (0-based indices)')
        except Exception as e:  # noqa: BLE001 - decord raises its own errors
            bad(path, f'cannot open video: {e}')
    else:
        frame_dir, tmpl = join(record['frame_dir']), record['filename_tmpl']
        if not osp.isdir(frame_dir):
            bad(frame_dir, 'frame folder not found')
            return problems
        shapes = {}
        for n in range(onset, offset + 1):
            path = osp.join(frame_dir, tmpl.format(n))
            if not osp.isfile(path):
                bad(path, f'frame {n} of onset..offset {onset}..{offset} is missing')
                continue
            try:
                shapes.setdefault(read_image(path, rgb=False).shape, path)
            except ImageReadError as e:
                bad(path, str(e))
        if len(shapes) > 1:
            bad(frame_dir, f'frames of different sizes {sorted(shapes)}')
        meta_path = osp.join(frame_dir, CLIP_META)
        if osp.isfile(meta_path):
            try:
                with open(meta_path) as f:
                    meta = json.load(f)
                have = len(frame_numbers(frame_dir, tmpl))
                if meta.get('num_frames') is not None and have != meta['num_frames']:
                    bad(frame_dir, f'{have} frames in the folder, {CLIP_META} records '
                                   f'{meta["num_frames"]} written')
            except (OSError, ValueError) as e:
                bad(meta_path, f'unreadable {CLIP_META}: {e}')
    if record.get('clip_cache'):
        path = join(record['clip_cache'])
        try:
            arr = np.load(path, mmap_mode='r')
            if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
                bad(path, f'clip cache holds {arr.dtype} {arr.shape}, expected uint8 (T, H, W, 3)')
            elif clip_len is not None and arr.shape[0] != clip_len:
                bad(path, f'clip cache has {arr.shape[0]} frames, the dataset was prepared with '
                          f'clip_len {clip_len}')
            else:
                np.asarray(arr[-1]).sum()  # touch the last frame: a cut-off file fails here
        except (OSError, ValueError) as e:
            bad(path, f'unreadable clip cache: {e}')
    return problems


def _verify_task(args):
    record, root, clip_len = args
    return record.get('sample_id', '?'), verify_record(record, root, clip_len)


def verify_dataset(ann_file: str, frames_root: Optional[str] = None, *, workers: int = 1,
                   progress: bool = True, records: Optional[Sequence[dict]] = None) -> Dict:
    """Check every clip of a (prepared) dataset; returns the report (see the module docstring).

    Args:
        ann_file: canonical annotation JSON.
        frames_root: what relative ``frame_dir`` / ``clip_cache`` / ``video`` paths are relative
            to (the config's ``data_prefix['img']``); default: ``frames/`` beside ``ann_file``
            when it exists (the layout ``prepare_dataset.py`` writes), else the file's folder.
        workers: processes decoding in parallel.
        records: check these records instead of the file's (used by ``prepare_dataset.py``).

    Returns:
        ``dict(ok, num_clips, num_bad_clips, num_problems, problems=[{sample_id, file,
        problem}], orphan_folders=[...], frames_root, alignment)``; ``ok`` is False without any
        clip; ``alignment``: how the clips' faces were found (:func:`alignment_summary`; None when
        no record has ``face_align``).
    """
    meta, file_records = load_annotations(ann_file)
    records = list(file_records if records is None else records)
    if frames_root is None:
        beside = osp.join(osp.dirname(osp.abspath(ann_file)), 'frames')
        frames_root = beside if osp.isdir(beside) else osp.dirname(osp.abspath(ann_file))
    clip_len = (meta.get('prepared') or {}).get('clip_len')
    tasks = [(r, frames_root, clip_len) for r in records]
    results = {}
    with map_clips(_verify_task, tasks, workers, desc='check', progress=progress,
                   chunksize=4) as checked:
        for sid, problems in checked:
            results[sid] = problems
    problems = [p for r in records for p in results.get(r.get('sample_id', '?'), [])]
    orphans = _orphan_folders(records, frames_root)
    bad_clips = sum(1 for v in results.values() if v)
    aligned = [(r.get('sample_id', '?'), r['face_align']) for r in records if r.get('face_align')]
    return dict(ok=bool(records) and not problems and not orphans, ann_file=ann_file,
                frames_root=frames_root,
                num_clips=len(records), num_bad_clips=bad_clips, num_problems=len(problems),
                problems=problems, orphan_folders=orphans,
                alignment=alignment_summary(aligned) if aligned else None)


def _orphan_folders(records: Sequence[dict], frames_root: str) -> List[str]:
    """Clip folders (with a clip.json) under ``frames_root`` that no record points to."""
    used = {osp.normpath(r['frame_dir'] if osp.isabs(r['frame_dir']) else
                         osp.join(frames_root, r['frame_dir']))
            for r in records if r.get('frame_dir')}
    out = []
    if not osp.isdir(frames_root):
        return out
    for dirpath, dirnames, filenames in os.walk(frames_root):
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        if CLIP_META in filenames and osp.normpath(dirpath) not in used:
            out.append(osp.relpath(dirpath, frames_root))
    return sorted(out)


def format_report(report: Dict, limit: int = 20) -> str:
    """A few lines for the terminal: the counts and the first problems."""
    if not report['num_clips']:
        ann = report.get('ann_file', 'the annotation file')
        return (f'0 clips checked: {ann} holds no clips (its data_list is empty), so nothing was '
                'verified; convert the annotations again '
                '(tools/data/convert_annotations.py)')
    lines = [f"{report['num_clips']} clips checked under {report['frames_root']}: "
             f"{report['num_bad_clips']} with problems ({report['num_problems']} problems), "
             f"{len(report['orphan_folders'])} clip folders without a record"]
    for p in report['problems'][:limit]:
        lines.append(f"  {p['sample_id']}: {p['problem']} [{p['file']}]")
    if report['num_problems'] > limit:
        lines.append(f"  ... {report['num_problems'] - limit} more")
    for d in report['orphan_folders'][:limit]:
        lines.append(f'  clip folder without a record: {d}')
    a = report.get('alignment')
    if a:
        lines.append('face found by: ' + ', '.join(f'{k} {v}' for k, v in a['stages'].items()
                                                   if v or k in ('hog', 'center_crop'))
                     + f"; on a later frame {a['other_frame']}, rotated {a['rotated']}, "
                     f"several faces {a['several_faces']}")
        for sid in a['center_crop_clips'][:limit]:
            lines.append(f'  no face (centre crop, not aligned): {sid}')
        for sid in a['several_faces_clips'][:limit]:
            lines.append(f'  several faces (check the crop is the subject): {sid}')
    return '\n'.join(lines)


__all__ = ['verify_dataset', 'verify_record', 'format_report']
