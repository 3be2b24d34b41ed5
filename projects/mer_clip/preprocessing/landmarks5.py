"""Five facial points per sample (eye centres, nose tip, mouth corners) from dlib's 68 landmarks.

Methods whose regions of interest follow the face (HTNet's eye and mouth patches on the flow
image, for example) need to know where those parts are in the sample's own image. The points are
computed on one image of the sample and stored with its annotation as ``landmarks5``::

    "landmarks5": {"points": [[x, y], ... 5 points], "image": "apex_image", "size": [W, H],
                   "stage": "hog"}

- ``points``: pixel coordinates (x right, y down, origin at the top-left corner of the top-left
  pixel's centre, as dlib and OpenCV use) in :data:`FIVE_POINTS` order. "Left" and "right" are the
  image's left and right (the subject's right eye is the image-left eye).
- ``image``: which image of the record they were computed on (the record key ``apex_image``, or
  ``apex_frame`` for a prepared clip, then with ``frame``: the frame number).
- ``size``: that image's (width, height), so a consumer can rescale the points to another size.
- ``stage``: the detector cascade stage that found the face (:data:`~.face_detect.STAGES`);
  ``rotation`` the degrees the image was rotated to find it, when not 0.

Points from the 68-point scheme (0-based): eye centre = mean of the eye's 6 points (36-41 for the
image-left eye, 42-47 for the image-right eye), nose tip = 30, mouth corners = 48 (image-left) and
54 (image-right).
"""
import logging
import os.path as osp
import time
from collections import Counter
from typing import Optional

import numpy as np
from tqdm import tqdm

from mer_clip.datasets.annotation import LANDMARKS5_POINTS as FIVE_POINTS
from mer_clip.datasets.annotation import dump_annotations, load_annotations
from mer_clip.utils.image_io import ImageReadError, read_image

from .face_detect import FaceCascade

logger = logging.getLogger('mer_clip.landmarks5')


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) dlib landmarks -> (5, 2) points in :data:`FIVE_POINTS` order."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise ValueError(f'expected (68, 2) landmarks, got {lm.shape}')
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])


def landmarks5_entry(img: np.ndarray, cascade: FaceCascade, image: str,
                     frame: Optional[int] = None) -> Optional[dict]:
    """The ``landmarks5`` annotation field of ``img`` (RGB uint8), or None when no face is found.

    ``image`` names the image in the record (``'apex_image'``, ``'apex_frame'``); ``frame`` is the
    frame number for a clip's frame.
    """
    det = cascade.find(img)
    if det is None:
        return None
    h, w = img.shape[:2]
    entry = dict(points=np.round(five_points(det.landmarks), 2).tolist(), image=image,
                 size=[int(w), int(h)], stage=det.stage)
    if det.rotation:
        entry['rotation'] = float(det.rotation)
    if det.num_faces > 1:
        entry['num_faces'] = int(det.num_faces)
    if frame is not None:
        entry['frame'] = int(frame)
    return entry


def _sample_image(rec: dict, image_root: str, frames_root: str):
    """(path, image key, frame number) of the image a record's points are computed on."""
    if rec.get('apex_image'):
        return osp.join(image_root, rec['apex_image']), 'apex_image', None
    if rec.get('frame_dir') and rec.get('filename_tmpl'):
        if rec.get('apex') is not None:
            n, key = int(rec['apex']), 'apex_frame'
        else:  # apex not annotated: the middle of onset..offset, named as such
            n, key = (int(rec['onset']) + int(rec['offset'])) // 2, 'middle_frame'
        return osp.join(frames_root, rec['frame_dir'], rec['filename_tmpl'].format(n)), key, n
    raise ValueError('no apex_image and no frame folder (a video record: prepare it first with '
                     'tools/data/prepare_dataset.py)')


def add_landmarks5(ann_file: str, out_file: Optional[str] = None, *,
                   image_root: Optional[str] = None, frames_root: Optional[str] = None,
                   cascade: Optional[FaceCascade] = None, progress: bool = True) -> dict:
    """Add ``landmarks5`` to every record of ``ann_file`` where a face is found; write ``out_file``.

    ``image_root``: what ``apex_image`` paths are relative to (default: the annotation file's
    folder, the configs' ``data_root``); ``frames_root``: the same for ``frame_dir`` (default:
    ``frames/`` beside the file, as prepare_dataset.py writes it). A record without a face, or
    whose image cannot be read, gets no ``landmarks5`` (an old one is removed) and is listed in the
    summary with the reason. Returns the summary: counts per outcome and per stage, the misses.
    """
    meta, records = load_annotations(ann_file)
    here = osp.dirname(osp.abspath(ann_file))
    image_root = image_root or here
    frames_root = frames_root or osp.join(here, 'frames')
    cascade = cascade or FaceCascade()
    stages, missed, t0 = Counter(), [], time.perf_counter()
    for rec in tqdm(records, desc='landmarks5', disable=not progress):
        rec.pop('landmarks5', None)
        try:
            path, key, frame = _sample_image(rec, image_root, frames_root)
            img = read_image(path)
        except (ValueError, ImageReadError) as e:
            missed.append(dict(sample_id=rec['sample_id'], reason=f'unreadable: {e}'))
            continue
        entry = landmarks5_entry(img, cascade, key, frame)
        if entry is None:
            missed.append(dict(sample_id=rec['sample_id'], reason=f'no face found in {path}'))
            continue
        rec['landmarks5'] = entry
        stages[entry['stage']] += 1
    summary = dict(ann_file=ann_file, out_file=out_file or ann_file, total=len(records),
                   found=sum(stages.values()), missed=len(missed),
                   stages={s: stages[s] for s in cascade.stages},
                   seconds=round(time.perf_counter() - t0, 2), missed_samples=missed,
                   points=list(FIVE_POINTS))
    meta['landmarks5'] = {k: summary[k] for k in ('found', 'missed', 'stages', 'points')}
    dump_annotations(records, out_file or ann_file, meta)
    for m in missed:
        logger.warning(f"no landmarks5 for {m['sample_id']}: {m['reason']}")
    return summary
