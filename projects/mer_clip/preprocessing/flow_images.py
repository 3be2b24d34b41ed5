"""Flow images for a prepared dataset (``tools/data/prepare_dataset.py`` output).

For every clip of ``ROOT/annotations.json`` (frames under ``ROOT/frames``) the onset-to-apex flow
image (:mod:`mer_clip.preprocessing.optical_flow`) is written beside the clip's frames::

    ROOT/frames/<subject>/<sample_id>/flow_28x28.png    RGB = u, v, strain, each min-max to 0..255
    ROOT/frames/<subject>/<sample_id>/flow_28x28.json   method, ranges, frames used (the sidecar)

and ``ROOT/annotations_flow.json`` is the annotation with, per record, ``flow_image`` and
``apex_image`` (relative to ``frames/``, like ``frame_dir``: the same ``data_prefix``),
``flow_range`` (the values before normalisation), ``flow_method`` and ``flow_frames``
([onset, apex]). Its metainfo ``flow`` says how the images were made.

Re-running resumes: a clip whose image and sidecar exist with the same size and method is kept. A
clip whose frames cannot be read is skipped, counted and logged (``strict=True`` raises). A clip
without an apex uses the middle frame of onset..offset by default (recorded in ``flow_frames`` and
counted), or is skipped / an error (``missing_apex``).
"""
import json
import logging
import os
import os.path as osp
import time
from typing import Optional, Sequence, Tuple

import cv2

from mer_clip.datasets.annotation import dump_annotations, load_annotations
from mer_clip.datasets.flow_image import write_flow_image
from mer_clip.utils.image_io import read_image

from .clip_pool import map_clips
from .optical_flow import FlowImage, flow_image, has_tvl1, resolve_method

logger = logging.getLogger('mer_clip.flow')
MISSING_APEX = ('middle', 'skip', 'error')
FLOW_FORMAT = ('PNG; channels in RGB order u, v, optical strain; each channel min-max normalised '
               'per image to 0..255 (flow_range holds min, max; u, v in pixels of the stored '
               'grid, strain dimensionless)')


class FlowError(RuntimeError):
    """A clip whose flow cannot be computed, in strict mode (the message names the sample)."""


def _apex_of(rec: dict, missing_apex: str) -> Tuple[Optional[int], str]:
    if rec.get('apex') is not None:
        return int(rec['apex']), 'annotation'
    if missing_apex == 'middle':
        return (int(rec['onset']) + int(rec['offset'])) // 2, 'middle'
    return None, missing_apex


def _path_like(frame_dir: str, name: str) -> str:
    """``name`` inside ``frame_dir``, relative when frame_dir is relative (same data_prefix)."""
    return osp.join(frame_dir, name)


def _one(rec: dict, frames_root: str, size: Tuple[int, int], method: str, missing_apex: str,
         overwrite: bool) -> dict:
    sid = rec['sample_id']
    if not rec.get('frame_dir') or not rec.get('filename_tmpl'):
        return dict(status='skipped', reason='no frame_dir/filename_tmpl (prepare the clip with '
                    'tools/data/prepare_dataset.py first)')
    apex, apex_source = _apex_of(rec, missing_apex)
    if apex is None:
        return dict(status='skipped' if missing_apex == 'skip' else 'error',
                    reason='no apex frame in the annotation (missing_apex=' + missing_apex + ')')
    frame_dir = rec['frame_dir']
    clip_dir = frame_dir if osp.isabs(frame_dir) else osp.join(frames_root, frame_dir)
    name = f'flow_{size[0]}x{size[1]}'
    png, side = osp.join(clip_dir, name + '.png'), osp.join(clip_dir, name + '.json')
    frames = [int(rec['onset']), apex]
    if not overwrite and osp.isfile(png) and osp.isfile(side):
        with open(side) as f:
            meta = json.load(f)
        if meta.get('method') == method and meta.get('size') == list(size) \
                and meta.get('frames') == frames:
            return dict(status='resumed', meta=meta, png=_path_like(frame_dir, name + '.png'),
                        apex_image=_path_like(frame_dir, rec['filename_tmpl'].format(apex)))
    paths = [osp.join(clip_dir, rec['filename_tmpl'].format(n)) for n in frames]
    try:
        onset_img, apex_img = (read_image(p, rgb=False, what=f'sample {sid}: frame {n}: ')
                               for p, n in zip(paths, frames))
        result: FlowImage = flow_image(onset_img, apex_img, size, method)
    except (FileNotFoundError, ValueError) as err:
        return dict(status='skipped', reason=str(err))
    write_flow_image(png, result.image)
    meta = dict(method=result.method, size=list(size), frames=frames, apex_source=apex_source,
                ranges=result.ranges, source_size=list(result.source_size),
                opencv=cv2.__version__)
    with open(side, 'w') as f:
        json.dump(meta, f, indent=1)
    return dict(status='done', meta=meta, png=_path_like(frame_dir, name + '.png'),
                apex_image=_path_like(frame_dir, rec['filename_tmpl'].format(apex)))


def _run(args) -> Tuple[str, dict]:
    rec = args[0]
    return rec['sample_id'], _one(*args)


def write_flow_images(root: str, *, ann_file: Optional[str] = None,
                      frames_root: Optional[str] = None, out_ann: Optional[str] = None,
                      size: Sequence[int] = (28, 28), method: str = 'auto',
                      missing_apex: str = 'middle', workers: int = 1, strict: bool = False,
                      overwrite: bool = False, progress: bool = True) -> dict:
    """Compute and write the flow images of a prepared dataset (module docstring).

    Returns a summary: counts (``done``, ``resumed``, ``skipped``, ``apex_middle``), the skipped
    clips with their reason, the method, the output annotation path and the time taken.
    """
    if missing_apex not in MISSING_APEX:
        raise ValueError(f'missing_apex must be one of {MISSING_APEX}, got {missing_apex!r}')
    method = resolve_method(method)
    size = (int(size[0]), int(size[1]))
    ann_file = ann_file or osp.join(root, 'annotations.json')
    frames_root = frames_root or osp.join(root, 'frames')
    out_ann = out_ann or osp.join(root, 'annotations_flow.json')
    file_meta, records = load_annotations(ann_file)
    logger.info(f'{len(records)} clips of {ann_file}: onset-apex flow with {method} '
                f'(cv2 {cv2.__version__}, TV-L1 available: {has_tvl1()}), '
                f'{size[0]}x{size[1]} images')
    tasks = [(rec, frames_root, size, method, missing_apex, overwrite) for rec in records]
    t0 = time.perf_counter()
    with map_clips(_run, tasks, workers, desc='flow', progress=progress, chunksize=4) as done:
        results = dict(done)
    elapsed = time.perf_counter() - t0

    out, skipped = [], []
    for rec in records:
        res = results[rec['sample_id']]
        if res['status'] in ('skipped', 'error'):
            msg = f'clip {rec["sample_id"]}: {res["reason"]}'
            if strict or res['status'] == 'error':
                raise FlowError(msg + ('' if res['status'] == 'error' else ' (strict mode)'))
            logger.warning('skipped ' + msg)
            skipped.append(dict(sample_id=rec['sample_id'], reason=res['reason']))
            continue
        meta = res['meta']
        out.append(dict(rec, flow_image=res['png'], apex_image=res['apex_image'],
                        flow_range=meta['ranges'], flow_method=meta['method'],
                        flow_frames=meta['frames']))
    counts = {k: sum(r['status'] == k for r in results.values()) for k in ('done', 'resumed')}
    counts['skipped'] = len(skipped)
    counts['apex_middle'] = sum(r.get('meta', {}).get('apex_source') == 'middle'
                                for r in results.values())
    if counts['apex_middle']:
        logger.warning(f'{counts["apex_middle"]} clips have no apex in the annotation: the middle '
                       'frame of onset..offset was used (flow_frames in their records)')
    if not out:
        raise FlowError(f'no flow image could be computed from {ann_file}: {skipped[:3]}')
    meta = dict(file_meta)
    meta['flow'] = dict(method=method, size=list(size), format=FLOW_FORMAT, strain=(
        'sqrt(u_x^2 + v_y^2 + 0.5 * (u_y + v_x)^2), central differences on the full-size flow'),
        frames_root=osp.relpath(osp.abspath(frames_root), osp.dirname(osp.abspath(out_ann))),
        missing_apex=missing_apex,
        opencv=cv2.__version__, tool='tools/data/compute_flow.py')
    os.makedirs(osp.dirname(osp.abspath(out_ann)), exist_ok=True)
    dump_annotations(out, out_ann, meta)
    summary = dict(counts=counts, total=len(records), method=method, size=list(size),
                   seconds=round(elapsed, 3), workers=workers, out_ann=out_ann, skipped=skipped)
    logger.info(f'flow images: {counts["done"]} computed, {counts["resumed"]} kept, '
                f'{counts["skipped"]} skipped in {elapsed:.1f} s with {method} -> {out_ann}')
    return summary
