"""From a dataset release (or a video file) to aligned face clips, a canonical annotation, a cache.

For every record of the release's annotation sheet (read by :mod:`mer_clip.datasets.readers`):

1. find the clip's frames in the release's own folder layout and file naming;
2. estimate one face-alignment transform on the onset frame (:class:`FaceAligner`; fallback recorded
   in ``face_align``) and warp every frame of the clip with it;
3. write ``OUT_ROOT/frames/<subject>/<sample_id>/img_{:05d}.jpg`` (frame numbers of the release are
   kept, so onset/apex/offset do not change) and ``clip.json`` (what was done);
4. with ``cache=True``, stack the sampled frames (:func:`sample_me_indices`), decoded back from the
   written JPEGs so that both loaders see the same pixels, into ``clip_t<T>.npy`` (T, H, W, 3) uint8
   inside the clip folder; the record gets ``clip_cache`` (relative to ``OUT_ROOT/frames``, like
   ``frame_dir``);
5. write ``OUT_ROOT/annotations.json`` (canonical, ``frame_dir`` relative to ``OUT_ROOT/frames``)
   and ``OUT_ROOT/prepare_log.json`` (settings, counts, clips without a face, skipped clips).

Clips are written to a temporary folder and renamed when complete, so an interrupted run resumes by
skipping every finished clip folder. A clip whose frames are missing or unreadable is a counted,
logged skip (the file is named in the log; ``strict=True`` raises instead); it is left out of the
annotation file.
"""
import glob
import json
import logging
import os
import os.path as osp
import re
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mer_clip.utils.image_io import ImageReadError, read_image

from .face_align import FaceAligner
from .verify import verify_dataset

logger = logging.getLogger('mer_clip.prepare')

OUT_TMPL = 'img_{:05d}.jpg'
CLIP_META = 'clip.json'
CONFIG_FILE = 'prepare_config.json'
LOG_FILE = 'prepare_log.json'
ANN_FILE = 'annotations.json'


class PrepareError(RuntimeError):
    """A clip that cannot be prepared (missing frame folder/file, unreadable image, bad indices)."""


# ------------------------------------------------------------------------------------------------
# datasets: reader and where its files usually are
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetSpec:
    reader: str                    # function name in mer_clip.datasets.readers
    # annotation sheet(s) of the release, searched under RAW_ROOT (case-insensitive, in this order
    # of preference)
    ann_globs: Tuple[str, ...]
    # True when one frame folder holds a whole recording with several MEs (CAS(ME)^3): only
    # onset..offset is then written by default.
    shared_folders: bool = False
    multi_file: bool = False       # the reader takes several sheets (DFME: one per split)
    ann_exclude: Tuple[str, ...] = ()  # names that match ann_globs but are not the label sheet
    layout: bool = False           # no sheet: the labels are the folder layout (SMIC-HS)


DATASETS: Dict[str, DatasetSpec] = {
    'samm': DatasetSpec('read_samm', ('SAMM_Micro_FACS_Codes*.xlsx', '*SAMM*.xlsx')),
    # the 2019 revision is the one behind Table III; the 2014 sheet is used when it is the only one
    'casme2': DatasetSpec('read_casme2', ('CASME2-coding-20190701*.xlsx', 'CASME2-coding*.xlsx',
                                          '*CASME2*.xlsx')),
    # the official name is lower case; the release's list of wrongly labelled MEs sits beside it
    'casme3': DatasetSpec('read_casme3', ('cas(me)3_part_A_ME_label*.xlsx',
                                          '*part_A*ME_label*.xlsx', '*ME_label*.xlsx',
                                          '*CAS(ME)*3*.xlsx'),
                          shared_folders=True, ann_exclude=('*wrong*', )),
    'dfme': DatasetSpec('read_dfme', ('*.xlsx', '*.csv'), multi_file=True),
    'smic': DatasetSpec('read_smic_hs', (), layout=True),
}


def _glob_down(root: str, pattern: str, depth: int = 2,
               exclude: Sequence[str] = ()) -> List[str]:
    """Files matching ``pattern`` (case-insensitively) in ``root`` and ``depth`` levels below."""
    import fnmatch
    hits = []
    for d in range(depth + 1):
        sub = osp.join(*(['*'] * d)) if d else ''
        names = sorted(glob.glob(osp.join(glob.escape(root), sub, '*')))
        hits += [h for h in names if osp.isfile(h)
                 and fnmatch.fnmatch(osp.basename(h).lower(), pattern.lower())
                 and not any(fnmatch.fnmatch(osp.basename(h).lower(), x.lower())
                             for x in exclude)]
    return [h for h in hits if not osp.basename(h).startswith('~$')]  # Excel lock files


def find_annotation(dataset: str, raw_root: str) -> List[str]:
    """The release's annotation sheet(s) under ``raw_root`` (searched two levels deep).

    One file for SAMM / CASME II / CAS(ME)^3; for DFME every .xlsx/.csv whose name tells its split
    (train, test A, test B), one per split; for SMIC (no sheet) the release folder itself.
    """
    spec = DATASETS[dataset]
    if spec.layout:
        return [raw_root]
    if spec.multi_file:
        from mer_clip.datasets.readers.dfme import split_of_file
        by_split = {}
        for pattern in spec.ann_globs:
            for h in _glob_down(raw_root, pattern):
                try:
                    by_split.setdefault(split_of_file(h), h)
                except ValueError:
                    continue
        if by_split:
            return [by_split[k] for k in sorted(by_split)]
    else:
        for pattern in spec.ann_globs:
            hits = _glob_down(raw_root, pattern, exclude=spec.ann_exclude)
            if hits:
                return hits[:1]
    raise FileNotFoundError(
        f'no {dataset} annotation sheet ({", ".join(spec.ann_globs)}) found under {raw_root}; '
        'pass it with --ann (see docs/prepare_data.md for the expected release layout)')


def read_records(dataset: str, ann_files: Sequence[str], **reader_kwargs) -> List[dict]:
    """Canonical records of the release sheet(s), read by :mod:`mer_clip.datasets.readers`."""
    import importlib
    spec = DATASETS[dataset]
    try:
        fn = getattr(importlib.import_module(f'mer_clip.datasets.readers.{dataset}'), spec.reader)
    except (ImportError, AttributeError):
        fn = None
    if fn is None:
        raise ImportError(f'mer_clip.datasets.readers.{spec.reader} is missing: the {dataset} '
                          'reader is needed to read the release annotation sheet')
    if isinstance(ann_files, str):
        ann_files = [ann_files]
    if not spec.multi_file and len(ann_files) != 1:
        raise ValueError(f'{dataset} has one annotation sheet, got {list(ann_files)}')
    return list(fn(*ann_files, **reader_kwargs))


def find_frame_root(raw_root: str, records: Sequence[dict], max_depth: int = 4) -> str:
    """The folder of ``raw_root`` (itself or below) that the records' ``frame_dir`` are relative to.

    Releases are unpacked with different wrappers (``SAMM/``, ``CASME2-RAW/``, ``part_A/data/...``),
    so the first folder (breadth-first) under which most of the first records' frame folders exist
    is taken.
    """
    probe = [r['frame_dir'] for r in records[:20]]
    if not probe:
        raise ValueError('no records to prepare')
    level = [raw_root]
    for _ in range(max_depth + 1):
        best = None
        for d in level:
            n = sum(osp.isdir(osp.join(d, p)) for p in probe)
            if n and (best is None or n > best[0]):
                best = (n, d)
        if best is not None:
            return best[1]
        nxt = []
        for d in level:
            try:
                nxt += [osp.join(d, e.name) for e in sorted(os.scandir(d), key=lambda e: e.name)
                        if e.is_dir() and not e.name.startswith('.')]
            except OSError:
                pass
        level = nxt
    raise FileNotFoundError(
        f'none of the frame folders of the annotation (e.g. {probe[0]!r}) exists under {raw_root} '
        f'(searched {max_depth} levels deep); pass the folder that holds them with --frame-root')


# ------------------------------------------------------------------------------------------------
# frame sources
# ------------------------------------------------------------------------------------------------
def template_regex(filename_tmpl: str) -> 're.Pattern':
    """Regex with one group for the frame number of a ``str.format`` template ('006_{:05d}.jpg')."""
    parts = re.split(r'\{[^}]*\}', filename_tmpl)
    if len(parts) != 2:
        raise ValueError(f'filename template {filename_tmpl!r} must have exactly one {{}} field')
    return re.compile('^' + re.escape(parts[0]) + r'(\d+)' + re.escape(parts[1]) + '$')


class FolderSource:
    """Frames of a release folder: frame number -> file via ``filename_tmpl``."""

    def __init__(self, frame_dir: str, filename_tmpl: str):
        self.frame_dir, self.tmpl = frame_dir, filename_tmpl
        if not osp.isdir(frame_dir):
            raise PrepareError(f'frame folder not found: {frame_dir}')
        rx = template_regex(filename_tmpl)
        nums = {}
        for name in os.listdir(frame_dir):
            m = rx.match(name)
            if m:
                n = int(m.group(1))
                # '{}' and '{:05d}' both parse; keep only names the template reproduces
                if filename_tmpl.format(n) == name:
                    nums[n] = name
        self._numbers = sorted(nums)

    def numbers(self) -> List[int]:
        return self._numbers

    def path(self, n: int) -> str:
        return osp.join(self.frame_dir, self.tmpl.format(n))

    _FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
              8: cv2.IMREAD_REDUCED_COLOR_8}

    def load(self, n: int, reduce: int = 1) -> np.ndarray:
        """RGB frame ``n``; ``reduce`` in 1, 2, 4, 8 decodes JPEGs at 1/reduce size (libjpeg's
        DCT scaling: faster, and an anti-aliased downscale)."""
        path = self.path(n)
        try:  # refuses cut-off JPEGs, which cv2.imread would fill with grey
            return read_image(path, self._FLAGS[reduce])
        except ImageReadError as e:
            raise PrepareError(f'cannot read image {path} (missing, truncated, corrupt or not an '
                               f'image): {e}') from None

    def load_many(self, ns: Sequence[int], reduce: int = 1) -> List[np.ndarray]:
        return [self.load(n, reduce) for n in ns]


class VideoSource:
    """Frames of a video file (decord), numbered by 0-based frame index."""

    def __init__(self, video_path: str):
        import decord
        if not osp.isfile(video_path):
            raise PrepareError(f'video not found: {video_path}')
        try:
            self.reader = decord.VideoReader(video_path, num_threads=1)
        except Exception as e:  # decord raises DECORDError
            raise PrepareError(f'cannot open video {video_path}: {e}') from e
        self.video_path = video_path

    def numbers(self) -> List[int]:
        return list(range(len(self.reader)))

    def path(self, n: int) -> str:
        return f'{self.video_path}[{n}]'

    def load(self, n: int) -> np.ndarray:
        return self.reader[int(n)].asnumpy()

    def load_many(self, ns: Sequence[int], reduce: int = 1) -> List[np.ndarray]:
        if reduce != 1:
            raise ValueError('VideoSource decodes at full size only')
        return list(self.reader.get_batch([int(n) for n in ns]).asnumpy())


# ------------------------------------------------------------------------------------------------
# one clip
# ------------------------------------------------------------------------------------------------
@dataclass
class PrepareConfig:
    """Settings of a preparation run (in OUT_ROOT/prepare_config.json; a resume needs the same)."""
    size: int = 224
    eye_distance: float = 0.32
    eye_y: float = 0.38
    search_frames: int = 10
    only_sampled_frames: bool = False
    jpeg_quality: int = 95

    def aligner(self) -> FaceAligner:
        return FaceAligner(size=self.size, eye_distance=self.eye_distance, eye_y=self.eye_y,
                           search_frames=self.search_frames)


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


def _sample_indices(record: dict, clip_len: int) -> np.ndarray:
    from mer_clip.datasets.transforms.sampling import sample_me_indices
    return sample_me_indices(record['onset'], record.get('apex'), record['offset'], clip_len)


def cache_name(clip_len: int, short_side: Optional[int] = None) -> str:
    return f'clip_t{clip_len}.npy' if not short_side else f'clip_t{clip_len}_s{short_side}.npy'


def write_clip_cache(clip_dir: str, record: dict, clip_len: int,
                     short_side: Optional[int] = None) -> str:
    """Stack the sampled frames of a finished clip folder into ``clip_t<T>[_s<S>].npy`` -> its path.

    Frames are decoded from the written JPEGs (as :class:`LoadMEFrames` does), so the cache holds
    exactly the pixels the JPEG pipeline would load. With ``short_side``, they are also resized
    with mmaction's ``Resize(scale=(-1, short_side))``, the first step of the training pipeline:
    that step then meets frames of its output size (a copy in OpenCV), and the pipeline's output is
    unchanged without paying the resize per clip per epoch.
    """
    inds = _sample_indices(record, clip_len)
    src = FolderSource(clip_dir, OUT_TMPL)
    decoded = {n: src.load(n) for n in np.unique(inds).tolist()}
    frames = [decoded[n] for n in inds.tolist()]
    if short_side:
        from mmaction.datasets.transforms import Resize
        h, w = frames[0].shape[:2]
        frames = Resize(scale=(-1, short_side))(dict(imgs=frames, img_shape=(h, w)))['imgs']
    arr = np.stack(frames)  # (T, H, W, 3) uint8
    path = osp.join(clip_dir, cache_name(clip_len, short_side))
    tmp = path + f'.tmp{os.getpid()}.npy'
    np.save(tmp, arr)
    os.replace(tmp, path)
    return path


def reduction_factor(matrix: np.ndarray) -> int:
    """Largest of 1, 2, 4, 8 that keeps the warp's scale (output px per source px) <= 1."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    r = 1
    while r < 8 and scale * r * 2 <= 1.0:
        r *= 2
    return r


def reduced_matrix(matrix: np.ndarray, reduce: int) -> np.ndarray:
    """The transform of a frame decoded at 1/reduce size: reduced pixel x covers full-size
    pixels [r x, r x + r), centre r x + (r - 1) / 2."""
    if reduce == 1:
        return matrix
    a = matrix[:, :2]
    return np.concatenate([a * reduce, (a @ np.full(2, (reduce - 1) / 2) + matrix[:, 2])[:, None]],
                          axis=1)


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
    back to a centre crop, ``clips_per_s``, ``verify`` (the verification report).
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
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = None if tqdm is None else tqdm(total=len(tasks), desc='prepare', unit='clip',
                                         disable=not progress)
    if workers <= 1:
        _init_worker(opts, pool_worker=False)
        it = map(_run_task, tasks)
        pool = None
    else:
        import multiprocessing as mp
        # OpenCV's thread pool does not survive fork(): a child that inherits a started pool can
        # hang in its first parallel call. Stop it (1 thread) while forking, restore it afterwards.
        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            pool = mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else None).Pool(
                workers, initializer=_init_worker, initargs=(opts,))
        finally:
            cv2.setNumThreads(cv_threads)
        it = pool.imap_unordered(_run_task, tasks, chunksize=1)
    try:
        for res in it:
            results[res['sample_id']] = res
            if res['status'] == 'skipped':
                msg = f'skipped clip {res["sample_id"]}: {res["reason"]}'
                if strict:
                    raise PrepareError(msg + ' (strict mode)')
                logger.warning(msg)
            elif res['meta']['face_align']['method'] != 'landmarks':
                logger.warning(f'no face in clip {res["sample_id"]} (frames '
                               f'{res["meta"]["face_align"]["tried"]}): centre crop used')
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if pool is not None:
            pool.terminate() if strict else pool.close()
            pool.join()
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
    summary = dict(counts=counts, total=len(tasks), workers=workers, seconds=round(elapsed, 3),
                   clips_per_s=round(counts['done'] / elapsed, 3) if elapsed > 0 else None,
                   config=asdict(cfg), cache=cache, clip_len=clip_len,
                   cache_short_side=cache_short_side,
                   skipped=[dict(sample_id=r['sample_id'], reason=r['reason'])
                            for r in results.values() if r['status'] == 'skipped'],
                   no_face=no_face)
    meta = dict(metainfo or {})
    meta['prepared'] = dict(config=asdict(cfg), frames_root='frames', filename_tmpl=OUT_TMPL,
                            cache=cache, clip_len=clip_len if cache else None,
                            cache_short_side=cache_short_side if cache else None,
                            skipped=counts['skipped'], no_face=counts['no_face'])
    if not out_records:
        raise PrepareError(f'no clip could be prepared; see {osp.join(out_root, LOG_FILE)}')
    _dump(out_records, osp.join(out_root, ANN_FILE), meta)
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


def _dump(records: List[dict], path: str, metainfo: dict) -> None:
    from mer_clip.datasets.annotation import dump_annotations
    dump_annotations(records, path, metainfo)


def prepare_dataset(dataset: str, raw_root: str, out_root: str, *,
                    ann_file: Union[str, Sequence[str], None] = None,
                    frame_root: Optional[str] = None, cfg: Optional[PrepareConfig] = None,
                    only_sampled_frames: Optional[bool] = None,
                    reader_kwargs: Optional[dict] = None, **kwargs) -> dict:
    """Prepare one release: ``dataset`` in :data:`DATASETS`, ``raw_root`` the unpacked release.

    ``ann_file``: the sheet (DFME: the list of split sheets); default: searched under ``raw_root``.
    ``frame_root``: the folder the records' ``frame_dir`` are relative to; default: found under
    ``raw_root``. ``only_sampled_frames=None`` uses the dataset's default (True for CAS(ME)^3,
    whose frame folders are whole recordings with several MEs; False otherwise).
    ``reader_kwargs`` go to the reader (e.g. ``frame_dir_tmpl``, ``filename_tmpl``).
    """
    if dataset not in DATASETS:
        raise ValueError(f'unknown dataset {dataset!r}; choose from {sorted(DATASETS)}')
    if ann_file is None:
        ann_files = find_annotation(dataset, raw_root)
    else:
        ann_files = [ann_file] if isinstance(ann_file, str) else list(ann_file)
    from mer_clip.datasets.readers.report import ConversionReport
    report = ConversionReport()  # the sheet's notes / warnings, written beside annotations.json
    records = read_records(dataset, ann_files, report=report, **(reader_kwargs or {}))
    if not records:
        raise ValueError(f'{ann_files}: the {dataset} reader returned no records')
    frame_root = frame_root or find_frame_root(raw_root, records)
    cfg = cfg or PrepareConfig()
    if only_sampled_frames is None:
        only_sampled_frames = DATASETS[dataset].shared_folders
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


# ------------------------------------------------------------------------------------------------
# video files
# ------------------------------------------------------------------------------------------------
def video_record(video_path: str, onset: int, apex: Optional[int], offset: int, *,
                 sample_id: Optional[str] = None, subject: str = 'video', emotion: str = 'unknown',
                 aus: str = '') -> dict:
    """A canonical record for one ME in a video file (onset/apex/offset: 0-based frame indices)."""
    au_list = []
    if aus:
        from mer_clip.au.codes import parse_au_string
        au_list = [c.to_dict() if hasattr(c, 'to_dict') else c for c in parse_au_string(aus)]
    return dict(sample_id=sample_id or osp.splitext(osp.basename(video_path))[0],
                subject=str(subject), video=video_path, onset=int(onset),
                apex=None if apex is None else int(apex), offset=int(offset), emotion=emotion,
                aus=aus, au_list=au_list)


def prepare_video(video_path: str, onset: int, apex: Optional[int], offset: int, out_dir: str, *,
                  cfg: Optional[PrepareConfig] = None, cache: bool = False, clip_len: int = 16,
                  cache_short_side: Optional[int] = None, sample_id: Optional[str] = None,
                  subject: str = 'video',
                  emotion: str = 'unknown', aus: str = '') -> dict:
    """Align one ME of a video file (decord) into ``out_dir`` -> its canonical record.

    Frame indices are 0-based (``onset=0`` is the first frame) and become the file numbers:
    ``out_dir/img_{:05d}.jpg``. The record's ``frame_dir`` is ``out_dir`` (absolute).
    """
    cfg = cfg or PrepareConfig()
    rec = video_record(video_path, onset, apex, offset, sample_id=sample_id, subject=subject,
                       emotion=emotion, aus=aus)
    meta = read_clip_meta(out_dir)
    if meta is None:
        meta = prepare_clip(lambda: VideoSource(video_path), rec, out_dir, cfg)
    rec.pop('video')
    rec.update(frame_dir=osp.abspath(out_dir), filename_tmpl=OUT_TMPL,
               face_align=meta['face_align'])
    if cache:
        rec['clip_cache'] = osp.abspath(write_clip_cache(out_dir, rec, clip_len, cache_short_side))
    return rec


def read_video_list(csv_path: str) -> List[dict]:
    """Records from a CSV with columns video,onset,apex,offset[,subject,sample_id,emotion,aus].

    ``video`` is relative to the CSV's folder (or absolute); an empty apex means unknown.
    """
    import csv
    base = osp.dirname(osp.abspath(csv_path))
    out = []
    with open(csv_path, newline='') as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                video = row['video'] if osp.isabs(row['video']) else osp.join(base, row['video'])
                apex = row.get('apex') or None
                out.append(video_record(
                    video, int(row['onset']), None if apex is None else int(apex),
                    int(row['offset']), sample_id=row.get('sample_id') or None,
                    subject=row.get('subject') or 'video', emotion=row.get('emotion') or 'unknown',
                    aus=row.get('aus') or ''))
            except (KeyError, ValueError) as e:
                raise ValueError(f'{csv_path}, line {line}: {e!r}; columns must be video,onset,'
                                 'apex,offset[,subject,sample_id,emotion,aus]') from e
    return out
