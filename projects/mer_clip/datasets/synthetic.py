"""The synthetic micro-expression dataset: :mod:`mer_clip.face_renderer` clips written as a release.

The real ME datasets are licensed and cannot ship with the code, so demos, tests and the README's
main job run on this set instead: several subjects (each its own drawn identity), each with clips of
one raw emotion, rendered at 64 x 64 by default and written as JPEG frames plus a canonical
``annotations.json`` (:func:`make_synthetic_dataset`; ``tools/data/make_synthetic.py``).

Emotions and their AUs follow the statistics of the real datasets: for each raw emotion an AU
combination is drawn from ``synthetic_au_stats.json`` (written by ``tools/data/au_emotion_stats.py``
from the MER-CLIP authors' lists of SAMM, CASME II, CAS(ME)^3 and DFME), projected onto the AUs
the renderer moves (:data:`~mer_clip.face_renderer.RENDERED_AUS`). Hence the classes overlap the way
real ones do (AU4 in most negative emotions and in some surprise, AU12 in happiness and in
contempt, ...). The raw emotions map to three classes with the ``synthetic_3`` class scheme
(negative / positive / surprise).

Everything is a pure function of the seed: each subject's identity and each clip draw from their own
``numpy.random.Generator`` (seeded by ``(seed, subject, clip)``), so the output is the same for any
number of workers.
"""
import json
import multiprocessing as mp
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mer_clip.au.codes import AUCode, format_au_list, parse_au_string, sort_codes
from mer_clip.face_renderer import (RENDERED_AUS, render_clip, sample_clip_spec, sample_identity,
                                    static_layers, supersampling)

from .annotation import dump_annotations, make_record
from .class_schemes import CLASS_SCHEMES, NEGATIVE, normalize_emotion

GENERATOR_VERSION = '1.0'
STATS_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'synthetic_au_stats.json')

#: The raw emotions of the synthetic set (all map into ``synthetic_3``).
EMOTIONS = ('anger', 'contempt', 'disgust', 'fear', 'repression', 'sadness', 'happiness',
            'surprise')

#: Default class mix of the 3-class task (negative emotions share theirs equally).
DEFAULT_CLASS_MIX = {'negative': 0.45, 'positive': 0.30, 'surprise': 0.25}


def load_au_stats(path: str = STATS_FILE) -> Dict[str, List[Tuple[List[AUCode], float]]]:
    """Emotion -> [(AU combination, probability)] projected onto :data:`RENDERED_AUS`.

    AUs the renderer cannot draw are removed from each combination; combinations left empty are
    dropped and equal ones merged, then the weights are renormalised.
    """
    with open(path, encoding='utf-8') as f:
        table = json.load(f)
    out: Dict[str, List[Tuple[List[AUCode], float]]] = {}
    for emotion in EMOTIONS:
        if emotion not in table['emotions']:
            raise KeyError(f'{path} has no statistics for emotion {emotion!r}; regenerate it with '
                           'tools/data/au_emotion_stats.py')
        merged: Dict[Tuple[AUCode, ...], float] = {}
        for i, combo in enumerate(table['emotions'][emotion]['combinations']):
            codes = parse_au_string(combo['aus'], where=f'{path}: {emotion} combination {i}')
            codes = tuple(sort_codes(c for c in codes if c.au in RENDERED_AUS))
            if codes:
                merged[codes] = merged.get(codes, 0.0) + float(combo['count'])
        total = sum(merged.values())
        out[emotion] = [(list(k), v / total) for k, v in merged.items()]
    return out


def _emotion_plan(rng: np.random.Generator, num: int, class_mix: Dict[str, float]) -> List[str]:
    """Raw emotions of ``num`` clips: classes drawn by ``class_mix``, negatives split equally."""
    negatives = [e for e in EMOTIONS if e in NEGATIVE]
    names, probs = [], []
    for emo in EMOTIONS:
        cls = CLASS_SCHEMES['synthetic_3'].class_of(emo)
        share = class_mix.get(cls, 0.0)
        names.append(emo)
        probs.append(share / len(negatives) if cls == 'negative' else share)
    probs = np.asarray(probs) / np.sum(probs)
    return [names[k] for k in rng.choice(len(names), size=num, p=probs)]


def _clip_job(job):
    """Render and write one clip; returns its annotation record (runs in a worker process)."""
    (out_dir, seed, subj_idx, clip_idx, emotion, size, color, frames_range, weak_prob,
     jpeg_quality) = job
    cv2.setNumThreads(1)
    stats = _STATS_CACHE.setdefault(STATS_FILE, load_au_stats())
    ident = sample_identity(np.random.default_rng([seed, subj_idx, 0]))
    rng = np.random.default_rng([seed, subj_idx, 1, clip_idx])
    spec = sample_clip_spec(rng, emotion, stats, frames_range=frames_range, weak_prob=weak_prob)
    key = (seed, subj_idx, size)
    if key not in _STATIC_CACHE:
        _STATIC_CACHE.clear()
        _STATIC_CACHE[key] = static_layers(ident, size, supersampling(size))
    frames = render_clip(ident, spec, size, rng, color=color, static=_STATIC_CACHE[key])
    subject = f's{subj_idx + 1:02d}'
    sample_id = f'{subject}_{clip_idx + 1:03d}'
    start = int(rng.integers(1, 3000))
    frame_dir = f'{subject}/{sample_id}'
    tmpl = 'img_{:05d}.jpg'
    clip_dir = osp.join(out_dir, 'frames', subject, sample_id)
    os.makedirs(clip_dir, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    for i, frame in enumerate(frames):
        img = frame if color else frame[..., 0]
        if not cv2.imwrite(osp.join(clip_dir, tmpl.format(start + i)), img, params):
            raise OSError(f'could not write a frame into {clip_dir}')
    aus = format_au_list(spec.aus)
    record = make_record(  # au_list parsed back from the string: the two always agree
        sample_id=sample_id, subject=subject, frame_dir=frame_dir, filename_tmpl=tmpl,
        onset=start + spec.onset, apex=start + spec.apex, offset=start + spec.offset,
        emotion=emotion, aus=aus, where=f'synthetic clip {sample_id}',
        synthetic=dict(amplitude=round(spec.amplitude, 4), weak=spec.weak,
                       num_frames=spec.num_frames,
                       blink_frames=sorted({start + b + j for b, ln, _ in spec.blinks
                                            for j in range(ln) if b + j < spec.num_frames})))
    if record['au_list'] != [c.to_dict() for c in spec.aus]:
        raise AssertionError(f'{sample_id}: {aus!r} does not parse back to {spec.aus}')
    return record


_STATS_CACHE: dict = {}
_STATIC_CACHE: dict = {}


def make_synthetic_dataset(out_dir: str, num_subjects: int = 8, clips_per_subject: int = 12,
                           size: int = 64, seed: int = 0, workers: int = 0,
                           frames_range: Tuple[int, int] = (20, 40), color: bool = True,
                           weak_prob: float = 0.15, class_mix: Optional[Dict[str, float]] = None,
                           jpeg_quality: int = 95, overwrite: bool = False) -> str:
    """Render a synthetic ME dataset to ``out_dir``; returns the path of its ``annotations.json``.

    Layout: ``out_dir/frames/<subject>/<sample_id>/img_{:05d}.jpg`` (numbering starts at a random
    per-clip offset, as real releases do) and ``out_dir/annotations.json`` in the canonical format
    (``frame_dir`` relative to ``out_dir/frames``: ``data_prefix=dict(img=<out_dir>/frames)``).
    The emotions are raw labels for the ``synthetic_3`` class scheme. ``workers`` > 1 renders clips
    in parallel processes; the output does not depend on it.
    """
    if num_subjects < 1 or clips_per_subject < 1:
        raise ValueError('num_subjects and clips_per_subject must be >= 1')
    if size < 32:
        raise ValueError(f'size={size} is too small to draw a face; use 32 or more')
    lo, hi = frames_range
    if not 8 <= lo <= hi:
        raise ValueError(f'frames_range={frames_range} must satisfy 8 <= min <= max')
    class_mix = dict(DEFAULT_CLASS_MIX if class_mix is None else class_mix)
    bad = sorted(set(class_mix) - set(CLASS_SCHEMES['synthetic_3'].classes))
    if bad or sum(class_mix.values()) <= 0 or min(class_mix.values()) < 0:
        raise ValueError(f'class_mix={class_mix} must give non-negative weights to classes of '
                         f"{list(CLASS_SCHEMES['synthetic_3'].classes)}")
    ann_path = osp.join(out_dir, 'annotations.json')
    frames_root = osp.join(out_dir, 'frames')
    if osp.exists(ann_path) or osp.exists(frames_root):
        if not overwrite:
            raise FileExistsError(f'{out_dir} already holds a dataset; pass overwrite=True '
                                  '(--overwrite) to replace it or choose another folder')
        _remove_previous(out_dir, ann_path, frames_root)
    os.makedirs(frames_root, exist_ok=True)
    jobs = []
    for s in range(num_subjects):
        emotions = _emotion_plan(np.random.default_rng([seed, s, 2]), clips_per_subject, class_mix)
        for c, emotion in enumerate(emotions):
            jobs.append((out_dir, seed, s, c, emotion, size, color, (lo, hi), weak_prob,
                         jpeg_quality))
    if workers and workers > 1:
        with mp.get_context('spawn' if os.name == 'nt' else 'fork').Pool(workers) as pool:
            records = pool.map(_clip_job, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    else:
        records = [_clip_job(j) for j in jobs]
    metainfo = dict(
        dataset_name='synthetic', source='mer_clip.datasets.synthetic', format_version=1,
        generator_version=GENERATOR_VERSION, seed=seed, class_scheme='synthetic_3',
        params=dict(num_subjects=num_subjects, clips_per_subject=clips_per_subject, size=size,
                    frames_range=[lo, hi], color=color, weak_prob=weak_prob,
                    class_mix=class_mix, jpeg_quality=jpeg_quality,
                    au_stats=osp.basename(STATS_FILE)),
        subjects=[f's{s + 1:02d}' for s in range(num_subjects)],
        side_convention='L/R are the subject\'s left/right (right/left half of the image)')
    _write_annotations(ann_path, metainfo, records)
    return ann_path


def _remove_previous(out_dir, ann_path, frames_root):
    """Delete an earlier synthetic set in ``out_dir``, refusing anything that is not one."""
    if osp.exists(ann_path):
        try:
            with open(ann_path, encoding='utf-8') as f:
                name = json.load(f).get('metainfo', {}).get('dataset_name')
        except (OSError, ValueError):
            name = None
        if name != 'synthetic':
            raise FileExistsError(f'{ann_path} is not a synthetic dataset (dataset_name={name!r});'
                                  ' refusing to overwrite it')
        os.remove(ann_path)
    elif osp.exists(frames_root):
        raise FileExistsError(f'{frames_root} exists without annotations.json; remove it yourself')
    if osp.exists(frames_root):
        shutil.rmtree(frames_root)


def _write_annotations(path, metainfo, records):
    dump_annotations(records, path, metainfo=metainfo)


def describe(ann_path: str) -> str:
    """One-paragraph summary of a written set (emotion and class counts)."""
    with open(ann_path, encoding='utf-8') as f:
        data = json.load(f)
    scheme = CLASS_SCHEMES['synthetic_3']
    emo: Dict[str, int] = {}
    cls: Dict[str, int] = {}
    frames = 0
    for r in data['data_list']:
        emo[r['emotion']] = emo.get(r['emotion'], 0) + 1
        c = scheme.class_of(normalize_emotion(r['emotion']))
        cls[c] = cls.get(c, 0) + 1
        frames += r['synthetic']['num_frames']
    return (f'{len(data["data_list"])} clips, {frames} frames, '
            f'{len(data["metainfo"]["subjects"])} subjects; classes {dict(sorted(cls.items()))}; '
            f'emotions {dict(sorted(emo.items()))}')


__all__ = ['make_synthetic_dataset', 'load_au_stats', 'describe', 'EMOTIONS', 'GENERATOR_VERSION',
           'STATS_FILE']
