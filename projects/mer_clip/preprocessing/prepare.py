"""From a dataset release (or a video file) to aligned face clips, a canonical annotation, a cache.

The pipeline of ``tools/data/prepare_dataset.py``. The release's label sheet and frame folders are
found by :mod:`.release` and its records read by :mod:`mer_clip.datasets.readers`; frames are read
by :mod:`.frames`. For every record:

1. find the clip's frames in the release's own folder layout and file naming;
2. estimate one face-alignment transform on the onset frame (:class:`FaceAligner`; fallback recorded
   in ``face_align``) and warp every frame of the clip with it;
3. write ``OUT_ROOT/frames/<subject>/<sample_id>/img_{:05d}.jpg`` (frame numbers of the release are
   kept, so onset/apex/offset do not change) and ``clip.json`` (what was done);
4. with ``cache=True``, stack the sampled frames, decoded back from the written JPEGs so that both
   loaders see the same pixels, into ``clip_t<T>.npy`` (T, H, W, 3) uint8 inside the clip folder
   (:mod:`.clip_cache`); the record gets ``clip_cache`` (relative to ``OUT_ROOT/frames``, like
   ``frame_dir``);
5. write ``OUT_ROOT/annotations.json`` (canonical, ``frame_dir`` relative to ``OUT_ROOT/frames``)
   and ``OUT_ROOT/prepare_log.json`` (settings, counts, clips without a face, skipped clips).

Clips are written to a temporary folder and renamed when complete, so an interrupted run resumes by
skipping every finished clip folder. A clip whose frames are missing or unreadable is a counted,
logged skip (the file is named in the log; ``strict=True`` raises instead); it is left out of the
annotation file. Video files enter through :mod:`.video`.
"""
import glob
import json
import logging
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import cv2

from mer_clip.datasets.annotation import dump_annotations
from mer_clip.datasets.readers.report import ConversionReport

from .clip_cache import cache_name, write_clip_cache
from .clip_pool import map_clips
from .face_align import FaceAligner, alignment_summary
from .face_detect import STAGES
from .framing import DEFAULT_FRAMING, FRAMINGS, framing_name
from .frames import (CLIP_META, OUT_TMPL, FolderSource, PrepareError, VideoSource,
                     reduced_matrix, reduction_factor)
from .release import find_annotation, find_frame_root, read_records, release_layout
from .verify import verify_dataset

logger = logging.getLogger('mer_clip.prepare')

CONFIG_FILE = 'prepare_config.json'
LOG_FILE = 'prepare_log.json'
ANN_FILE = 'annotations.json'


# ------------------------------------------------------------------------------------------------
# one clip
# ------------------------------------------------------------------------------------------------
@dataclass
class PrepareConfig:
    """Settings of a preparation run (in OUT_ROOT/prepare_config.json; a resume needs the same)."""
    size: int = 224
    eye_distance: float = FRAMINGS[DEFAULT_FRAMING][0]
    eye_y: float = FRAMINGS[DEFAULT_FRAMING][1]
    search_frames: int = 10
    only_sampled_frames: bool = False
    jpeg_quality: int = 95
    #: the detector cascade (mer_clip.preprocessing.face_detect)
    detector_stages: List[str] = field(default_factory=lambda: list(STAGES))
    rotation_angles: List[float] = field(default_factory=lambda: [10.0, -10.0, 20.0, -20.0])

    @property
    def framing(self) -> str:
        """The framing preset of eye_distance / eye_y (mer_clip.preprocessing.framing)."""
        return framing_name(self.eye_distance, self.eye_y)

    def aligner(self) -> FaceAligner:
        return FaceAligner(size=self.size, eye_distance=self.eye_distance, eye_y=self.eye_y,
                           search_frames=self.search_frames, stages=self.detector_stages,
                           angles=self.rotation_angles)


def clip_frame_numbers(record: dict, available: Sequence[int], only_sampled: bool,
                       where: Callable[[int], str]) -> List[int]:
    """Frame numbers to write; every frame in onset..offset must exist (the sampler may pick it)."""
    onset, offset = int(record['onset']), int(record['offset'])
    if offset < onset:
        raise PrepareError(f'offset {offset} is before onset {onset}')
    avail = set(available)
    missing = [n for n in range(onset, offset + 1) if n not in avail]
    if missing:
        raise PrepareError(f'{len(missing)} frame(s) of onset..offset = {onset}..{offset} missing, '
                           f'first: {where(missing[0])}')
    if only_sampled:
        return list(range(onset, offset + 1))
    return sorted(available)


def prepare_clip(source_factory: Callable[[], object], record: dict, out_dir: str,
                 cfg: PrepareConfig, aligner: Optional[FaceAligner] = None) -> dict:
    """Align and write one clip into ``out_dir`` (atomically) -> its meta (also in clip.json)."""
    aligner = aligner or cfg.aligner()
    source = source_factory()
    numbers = clip_frame_numbers(record, source.numbers(), cfg.only_sampled_frames, source.path)
    alignment = aligner.estimate_clip(source.load, int(record['onset']), numbers)

    # big frames shrunk a lot (SAMM 2040x1088 -> 224): decode JPEGs at 1/2..1/8 size, so that the
    # warp never samples sparser than every source pixel (no aliasing) and decoding is faster
    reduce = reduction_factor(alignment.matrix) if isinstance(source, FolderSource) else 1
    matrix = reduced_matrix(alignment.matrix, reduce)

    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.tmp_{osp.basename(out_dir)}_{os.getpid()}')
    if osp.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    params = [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality]
    try:
        for i in range(0, len(numbers), 32):  # bounded memory for long 1080p clips
            chunk = numbers[i:i + 32]
            for n, img in zip(chunk, source.load_many(chunk, reduce)):
                out = aligner.warp(img, matrix)
                if not cv2.imwrite(osp.join(tmp, OUT_TMPL.format(n)),
                                   cv2.cvtColor(out, cv2.COLOR_RGB2BGR), params):
                    raise OSError(f'cannot write {osp.join(tmp, OUT_TMPL.format(n))}')
        meta = dict(sample_id=record['sample_id'], frames=[int(numbers[0]), int(numbers[-1])],
                    num_frames=len(numbers), face_align=alignment.to_json(), decode_reduce=reduce)
        with open(osp.join(tmp, CLIP_META), 'w') as f:
            json.dump(meta, f)
        if osp.exists(out_dir):  # an incomplete folder from an older layout / manual copy
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def read_clip_meta(clip_dir: str) -> Optional[dict]:
    """The meta of a finished clip folder, or None when absent / unfinished."""
    path = osp.join(clip_dir, CLIP_META)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------
# a whole dataset
# ------------------------------------------------------------------------------------------------
@dataclass
class _Task:
    record: dict
    out_dir: str
    frame_dir: Optional[str] = None     # release frame folder (absolute), or
    video: Optional[str] = None         # video file


@dataclass
class _Options:
    cfg: PrepareConfig
    cache: bool
    clip_len: int
    cache_short_side: Optional[int] = None


_WORKER = {}


def _init_worker(opts: _Options, pool_worker: bool = True) -> None:
    if pool_worker:
        cv2.setNumThreads(1)  # N processes, one thread each
    _WORKER['opts'] = opts
    _WORKER['aligner'] = opts.cfg.aligner()


def _run_task(task: _Task) -> dict:
    """Prepare (or resume) one clip in a worker -> a status dict; never raises for bad clips."""
    opts: _Options = _WORKER['opts']
    rec = task.record
    res = dict(sample_id=rec['sample_id'], status='done', pid=os.getpid())
    try:
        meta = read_clip_meta(task.out_dir)
        if meta is not None:
            res['status'] = 'resumed'
        else:
            if task.video is not None:
                factory = lambda: VideoSource(task.video)  # noqa: E731
            else:
                factory = lambda: FolderSource(task.frame_dir, rec['filename_tmpl'])  # noqa: E731
            meta = prepare_clip(factory, rec, task.out_dir, opts.cfg, _WORKER['aligner'])
        res['meta'] = meta
        if opts.cache:
            cpath = osp.join(task.out_dir, cache_name(opts.clip_len, opts.cache_short_side))
            if not osp.isfile(cpath):
                write_clip_cache(task.out_dir, rec, opts.clip_len, opts.cache_short_side)
    except (PrepareError, ValueError, OSError) as e:
        res['status'] = 'skipped'
        res['reason'] = str(e)
    return res


def _check_config(out_root: str, cfg: PrepareConfig, overwrite: bool) -> None:
    path = osp.join(out_root, CONFIG_FILE)
    want = asdict(cfg)
    if osp.isfile(path) and not overwrite:
        with open(path) as f:
            have = json.load(f)
        if have != want:
            diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
            raise ValueError(
                f'{out_root} was prepared with other settings (setting: (before, now)) {diff}; '
                'use a new OUT_ROOT, the same settings to resume, or --overwrite to start over')
    if overwrite and osp.isdir(osp.join(out_root, 'frames')):
        shutil.rmtree(osp.join(out_root, 'frames'))
    os.makedirs(out_root, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(want, f, indent=1)


def _safe(name: str) -> str:
    name = str(name).strip()
    if not name or name in ('.', '..') or '/' in name or '\\' in name:
        raise ValueError(f'{name!r} cannot be used as a folder name')
    return name


def prepare_records(records: Sequence[dict], out_root: str, *, frame_root: Optional[str] = None,
                    cfg: Optional[PrepareConfig] = None, workers: int = 1, cache: bool = False,
                    clip_len: int = 16, cache_short_side: Optional[int] = None,
                    metainfo: Optional[dict] = None, strict: bool = False,
                    overwrite: bool = False, progress: bool = True, verify: bool = True) -> dict:
    """Prepare canonical records (``frame_dir`` under ``frame_root``, or ``video`` paths).

    ``cache``: also write each clip's sampled frames (``clip_len``) as one .npy, resized to
    ``cache_short_side`` when given (see :func:`write_clip_cache`).

    ``verify``: finally decode every written frame and cache again (:func:`verify_dataset`, the
    check of ``tools/data/check_dataset.py``); problems are logged and counted (``strict``: raised).

    Returns the summary also written to ``OUT_ROOT/prepare_log.json``: counts (``done``,
    ``resumed``, ``skipped``, ``no_face``), the skipped clips with their reason, the clips that fell
    back to a centre crop, ``alignment`` (clips per detector stage, on another frame, rotated,
    with several faces: :func:`alignment_summary`), ``clips`` (per clip: method, stage, frame,
    rotation, frames tried, faces), ``clips_per_s``, ``verify`` (the verification report).
    ``strict``: a skipped clip, a clip without a face (centre crop) or a verification problem
    raises :class:`PrepareError`.
    """
    cfg = cfg or PrepareConfig()
    ids = [r['sample_id'] for r in records]
    dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dup:
        raise ValueError(f'sample_id must be unique; duplicated: {dup[:10]}')
    _check_config(out_root, cfg, overwrite)
    frames_root = osp.join(out_root, 'frames')
    tasks = []
    for rec in records:
        out_dir = osp.join(frames_root, _safe(rec['subject']), _safe(rec['sample_id']))
        if rec.get('video'):
            vid = rec['video'] if osp.isabs(rec['video']) or frame_root is None \
                else osp.join(frame_root, rec['video'])
            tasks.append(_Task(rec, out_dir, video=vid))
        else:
            tasks.append(_Task(rec, out_dir,
                               frame_dir=osp.join(frame_root or '', rec['frame_dir'])))

    # temp folders of an interrupted run (one run per OUT_ROOT at a time)
    for stale in glob.glob(osp.join(glob.escape(frames_root), '*', '.tmp_*')):
        shutil.rmtree(stale, ignore_errors=True)
    opts = _Options(cfg, cache, clip_len, cache_short_side)
    t0 = time.perf_counter()
    results: Dict[str, dict] = {}
    with map_clips(_run_task, tasks, workers, desc='prepare', progress=progress,
                   initializer=_init_worker, initargs=(opts, ),
                   local_initargs=(opts, False)) as done:
        for res in done:
            results[res['sample_id']] = res
            if res['status'] == 'skipped':
                msg = f'skipped clip {res["sample_id"]}: {res["reason"]}'
                if strict:
                    raise PrepareError(msg + ' (strict mode)')
                logger.warning(msg)
            elif res['meta']['face_align']['method'] != 'landmarks':
                msg = (f'no face in clip {res["sample_id"]} (frames '
                       f'{res["meta"]["face_align"]["tried"]}, every detector stage)')
                if strict:
                    raise PrepareError(msg + '; a centre crop is not aligned to the face (strict '
                                       'mode; without --strict it is a counted fallback)')
                logger.warning(msg + ': centre crop used')
            elif res['meta']['face_align'].get('faces'):
                f = res['meta']['face_align']['faces']
                logger.warning(f'clip {res["sample_id"]}: {f["count"]} faces on frame '
                               f'{res["meta"]["face_align"]["ref_frame"]}; kept the one at '
                               f'{f["kept"][:2]}, found there on {f["seen_on"]}')
    elapsed = time.perf_counter() - t0

    out_records = []
    for task in tasks:
        res = results[task.record['sample_id']]
        if res['status'] == 'skipped':
            continue
        rec = dict(task.record)
        rec.pop('video', None)
        rel = osp.relpath(task.out_dir, frames_root)
        rec['frame_dir'] = rel
        rec['filename_tmpl'] = OUT_TMPL
        rec['face_align'] = res['meta']['face_align']
        if cache:
            rec['clip_cache'] = osp.join(rel, cache_name(clip_len, cache_short_side))
        out_records.append(rec)

    counts = {k: sum(r['status'] == k for r in results.values())
              for k in ('done', 'resumed', 'skipped')}
    no_face = [dict(sample_id=r['sample_id'], **r['meta']['face_align'])
               for r in results.values()
               if r['status'] != 'skipped' and r['meta']['face_align']['method'] != 'landmarks']
    counts['no_face'] = len(no_face)
    done = [(r['sample_id'], r['meta']['face_align']) for r in results.values()
            if r['status'] != 'skipped']
    alignment = alignment_summary(done)
    clips = [dict(sample_id=sid, method=fa['method'], stage=fa.get('stage'),
                  frame=fa.get('ref_frame'), rotation=fa.get('rotation', 0.0),
                  tried=len(fa.get('tried', [])), faces=(fa.get('faces') or {}).get('count', 1))
             for sid, fa in done]
    summary = dict(counts=counts, total=len(tasks), workers=workers, seconds=round(elapsed, 3),
                   clips_per_s=round(counts['done'] / elapsed, 3) if elapsed > 0 else None,
                   config=asdict(cfg), cache=cache, clip_len=clip_len,
                   cache_short_side=cache_short_side,
                   skipped=[dict(sample_id=r['sample_id'], reason=r['reason'])
                            for r in results.values() if r['status'] == 'skipped'],
                   no_face=no_face, alignment=alignment, clips=clips)
    meta = dict(metainfo or {})
    meta['prepared'] = dict(config=asdict(cfg), frames_root='frames', filename_tmpl=OUT_TMPL,
                            cache=cache, clip_len=clip_len if cache else None,
                            cache_short_side=cache_short_side if cache else None,
                            skipped=counts['skipped'], no_face=counts['no_face'],
                            framing=cfg.framing, face_stages=alignment['stages'])
    if not out_records:
        raise PrepareError(f'no clip could be prepared; see {osp.join(out_root, LOG_FILE)}')
    dump_annotations(out_records, osp.join(out_root, ANN_FILE), meta)
    if verify:
        report = verify_dataset(osp.join(out_root, ANN_FILE), frames_root, workers=workers,
                                progress=progress)
        summary['verify'] = report
        for p in report['problems'][:20]:
            logger.warning(f'verification: {p["sample_id"]}: {p["problem"]} [{p["file"]}]')
        if report['problems'] and strict:
            with open(osp.join(out_root, LOG_FILE), 'w') as f:
                json.dump(summary, f, indent=1)
            raise PrepareError(f'verification found {report["num_problems"]} problem(s) in '
                               f'{report["num_bad_clips"]} clip(s), e.g. '
                               f'{report["problems"][0]["problem"]}; see '
                               f'{osp.join(out_root, LOG_FILE)} (strict mode)')
    with open(osp.join(out_root, LOG_FILE), 'w') as f:
        json.dump(summary, f, indent=1)
    logger.info(f'prepared {counts["done"]} clips, resumed {counts["resumed"]}, skipped '
                f'{counts["skipped"]}, no face {counts["no_face"]} in {elapsed:.1f} s '
                f'-> {osp.join(out_root, ANN_FILE)}')
    return summary


def prepare_dataset(dataset: str, raw_root: str, out_root: str, *,
                    ann_file: Union[str, Sequence[str], None] = None,
                    frame_root: Optional[str] = None, cfg: Optional[PrepareConfig] = None,
                    only_sampled_frames: Optional[bool] = None,
                    reader_kwargs: Optional[dict] = None, **kwargs) -> dict:
    """Prepare one release: ``dataset`` in :data:`~.release.RELEASES`, ``raw_root`` the unpacked
    release.

    ``ann_file``: the sheet (DFME: the list of split sheets); default: searched under ``raw_root``.
    ``frame_root``: the folder the records' ``frame_dir`` are relative to; default: found under
    ``raw_root``. ``only_sampled_frames=None`` uses the dataset's default (True for CAS(ME)^3,
    whose frame folders are whole recordings with several MEs; False otherwise).
    ``reader_kwargs`` go to the reader (e.g. ``frame_dir_tmpl``, ``filename_tmpl``).
    """
    layout = release_layout(dataset)
    if ann_file is None:
        ann_files = find_annotation(dataset, raw_root)
    else:
        ann_files = [ann_file] if isinstance(ann_file, str) else list(ann_file)
    report = ConversionReport()  # the sheet's notes / warnings, written beside annotations.json
    records = read_records(dataset, ann_files, report=report, **(reader_kwargs or {}))
    if not records:
        raise ValueError(f'{ann_files}: the {dataset} reader returned no records')
    frame_root = frame_root or find_frame_root(raw_root, records)
    cfg = cfg or PrepareConfig()
    if only_sampled_frames is None:
        only_sampled_frames = layout.shared_folders
    cfg.only_sampled_frames = bool(only_sampled_frames)
    logger.info(f'{dataset}: {len(records)} records from {ann_files}; frames under {frame_root}')
    metainfo = dict(dataset_name=dataset,
                    source=', '.join(osp.basename(osp.normpath(a)) for a in ann_files),
                    format_version=1, conversion=dict(warnings=report.counts('warning'),
                                                      notes=report.counts('note')))
    summary = prepare_records(records, out_root, frame_root=frame_root, cfg=cfg,
                              metainfo=metainfo, **kwargs)
    paths = report.write(osp.join(out_root, ANN_FILE))
    logger.info(f'conversion report ({paths[1]}): ' + report.summary().replace('\n', '; '))
    summary['conversion'] = dict(warnings=report.counts('warning'), notes=report.counts('note'))
    return summary
