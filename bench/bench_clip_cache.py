"""Clip cache vs JPEG frames: clips/s of the training data pipeline, and prepare throughput.

Part 1 (data pipeline, one process = one DataLoader worker): the same sampled frames
(:func:`sample_me_indices`, 16 of each clip) go through Resize(short side 256) + CenterCrop(224)
after either
  - ``jpeg``:        mmaction's stock ``RawFrameDecode`` of 16 JPEGs,
  - ``jpeg-ours``:   our ``LoadMEFrames`` (cv2) of the same JPEGs,
  - ``cache-mmap``:  ``LoadClipCache`` reading one memory-mapped .npy,
  - ``cache-ram``:   ``LoadClipCache(cache_size=-1)`` (whole dataset in RAM),
  - ``cache256-*``:  the same with the cache written by ``--cache-short-side 256`` (frames stored at
                     the Resize's output size; the network input is identical, see the tests).
Printed side by side with the ratio to ``jpeg`` (target: cache >= 5x). ``--procs N`` (or
``--config CONFIG``: N = its ``train_dataloader.num_workers``) times N processes at once, each
loading every clip, as N DataLoader workers share the machine: clips/s is then that of all N.

Part 2 (prepare throughput): ``prepare_records`` on a fabricated release with frames of a real
release's size (default SAMM, 2040 x 1088) and the face of scikit-image's astronaut, with 1..N
workers.

    python bench/bench_clip_cache.py                 # both parts
    python bench/bench_clip_cache.py --skip-prepare  # only the pipeline
    python bench/bench_clip_cache.py --skip-prepare --config CONFIG --json out.json  # its workers
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
import time

import cv2
import numpy as np

import mer_clip  # noqa: F401
from mmengine.registry import init_default_scope
from mmaction.registry import TRANSFORMS

from mer_clip.datasets.transforms.sampling import sample_me_indices
from mer_clip.preprocessing.frames import OUT_TMPL
from mer_clip.preprocessing.clip_cache import write_clip_cache
from mer_clip.preprocessing.prepare import PrepareConfig, prepare_records


def _face(size):
    from skimage.data import astronaut
    return cv2.resize(astronaut()[20:260, 110:350], size, interpolation=cv2.INTER_AREA)


def make_prepared(root, clips, frames, size=224, clip_len=16, seed=0):
    """A prepared-layout dataset: frames/<s>/<id>/img_{:05d}.jpg (+ clip caches); -> records."""
    rng = np.random.default_rng(seed)
    base = _face((size, size)).astype(np.int16)
    records = []
    for c in range(clips):
        rec = dict(sample_id=f'c{c:03d}', subject=f's{c % 4}', onset=0, apex=int(frames * 0.4),
                   offset=frames - 1, frame_dir=osp.join(root, f's{c % 4}', f'c{c:03d}'),
                   filename_tmpl=OUT_TMPL, modality='RGB')
        os.makedirs(rec['frame_dir'])
        for n in range(frames):
            img = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(osp.join(rec['frame_dir'], OUT_TMPL.format(n)),
                        cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        rec['clip_cache'] = write_clip_cache(rec['frame_dir'], rec, clip_len)
        rec['clip_cache_256'] = write_clip_cache(rec['frame_dir'], rec, clip_len, short_side=256)
        records.append(rec)
    return records


def pipelines(clip_len):
    tail = [dict(type='Resize', scale=(-1, 256)), dict(type='CenterCrop', crop_size=224)]

    def build(head):
        return [TRANSFORMS.build(t) for t in head + tail]

    return {
        # stock mmaction decoding; frame_inds are set by us (RawFrameDecode adds results['offset'],
        # so the record's offset frame must not be in the dict it sees)
        'jpeg': build([dict(type='RawFrameDecode')]),
        'jpeg-ours': build([dict(type='MESampleFrames', clip_len=clip_len),
                            dict(type='LoadMEFrames')]),
        'cache-mmap': build([dict(type='LoadClipCache', clip_len=clip_len)]),
        'cache-ram': build([dict(type='LoadClipCache', clip_len=clip_len, cache_size=-1)]),
        # the cache written with --cache-short-side 256: the pipeline's Resize becomes a copy
        'cache256-mmap': build([dict(type='LoadClipCache', clip_len=clip_len)]),
        'cache256-ram': build([dict(type='LoadClipCache', clip_len=clip_len, cache_size=-1)]),
    }


def _inputs(name, rec, clip_len):
    d = dict(rec)
    if name == 'jpeg':
        d['frame_inds'] = sample_me_indices(d['onset'], d['apex'], d['offset'], clip_len)
        d.pop('offset')
    if name.startswith('cache256'):
        d['clip_cache'] = d['clip_cache_256']
    return d


def _epoch(name, pipe, records, clip_len):
    out = None
    for rec in records:
        out = _inputs(name, rec, clip_len)
        for t in pipe:
            out = t(out)
    assert out['imgs'][0].shape == (224, 224, 3) and len(out['imgs']) == clip_len
    return out


_WORK = {}  # what forked timing processes read: loader name -> (pipeline, records, clip_len)


def _epochs_in_worker(task):
    name, epochs = task
    pipe, records, clip_len = _WORK[name]
    for _ in range(epochs):
        _epoch(name, pipe, records, clip_len)


def _parallel_rates(pipes, records, clip_len, epochs, procs):
    """clips/s of ``procs`` processes loading at once (forked after the warm-up, so each starts
    with the parent's caches, as persistent DataLoader workers do)."""
    _WORK.update({k: (p, records, clip_len) for k, p in pipes.items()})
    res = {}
    with multiprocessing.get_context('fork').Pool(procs) as pool:
        for name in pipes:
            t0 = time.perf_counter()
            pool.map(_epochs_in_worker, [(name, epochs)] * procs, chunksize=1)
            res[name] = procs * epochs * len(records) / (time.perf_counter() - t0)
    return res


def bench_pipeline(args):
    init_default_scope('mmaction')
    root = tempfile.mkdtemp(prefix='bench_cache_')
    try:
        records = make_prepared(root, args.clips, args.frames, clip_len=args.clip_len)
        pipes = pipelines(args.clip_len)
        ref = None
        for name, pipe in pipes.items():  # warm-up epoch (page cache, RAM cache), not timed
            out = _epoch(name, pipe, records, args.clip_len)
            ref = out['imgs'] if ref is None else ref
            assert all(np.array_equal(a, b) for a, b in zip(ref, out['imgs'])), name
        if args.procs > 1:
            res = _parallel_rates(pipes, records, args.clip_len, args.epochs, args.procs)
        else:
            spent = dict.fromkeys(pipes, 0.0)
            for _ in range(args.epochs):  # interleaved: load changes on a shared machine hit all
                for name, pipe in pipes.items():
                    t0 = time.perf_counter()
                    _epoch(name, pipe, records, args.clip_len)
                    spent[name] += time.perf_counter() - t0
            res = {k: args.epochs * len(records) / v for k, v in spent.items()}
    finally:
        shutil.rmtree(root)
    print(f'\n== data pipeline: {args.clips} clips x {args.clip_len} sampled frames, 224x224 JPEG '
          f'-> Resize(-1, 256) + CenterCrop(224), {args.epochs} epochs, {args.procs} process(es) '
          'at once; all loaders give the same output pixels (checked)')
    print(f'{"loader":<15}{"clips/s":>10}{"ms/clip":>10}{"vs jpeg":>10}')
    for k, v in res.items():
        print(f'{k:<15}{v:>10.1f}{1000 / v:>10.2f}{v / res["jpeg"]:>9.1f}x')
    return res


def make_release(root, clips, frames, frame_size):
    """Fabricated release frames: the face pasted in a frame of ``frame_size`` (w, h)."""
    w, h = frame_size
    fh = int(h * 0.6)
    face = _face((fh, fh))
    rng = np.random.default_rng(0)
    records = []
    for c in range(clips):
        d = osp.join(root, f'{c:03d}')
        os.makedirs(d)
        for n in range(frames):
            img = np.full((h, w, 3), 100, np.uint8)
            x0, y0 = (w - fh) // 2 + n % 2, (h - fh) // 3
            img[y0:y0 + fh, x0:x0 + fh] = face
            img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(osp.join(d, f'{n:05d}.jpg'), img)
        records.append(dict(sample_id=f'c{c:03d}', subject=f'{c % 4:03d}', emotion='anger',
                            aus='4', au_list=[{'au': 4, 'side': None, 'intensity': None}],
                            onset=1, apex=frames // 2, offset=frames - 2, frame_dir=f'{c:03d}',
                            filename_tmpl='{:05d}.jpg'))
    return records


def bench_prepare(args):
    w, h = (int(x) for x in args.frame_size.split('x'))
    root = tempfile.mkdtemp(prefix='bench_prepare_')
    try:
        raw = osp.join(root, 'raw')
        records = make_release(raw, args.prepare_clips, args.prepare_frames, (w, h))
        print(f'\n== prepare: {args.prepare_clips} clips x {args.prepare_frames} frames of {w}x{h} '
              f'-> 224x224 aligned + clip cache, {os.cpu_count()} CPU(s)')
        print(f'{"workers":<8}{"clips/s":>10}{"frames/s":>10}{"s":>8}')
        for nw in range(1, args.workers + 1):
            out = osp.join(root, f'out{nw}')
            s = prepare_records(records, out, frame_root=raw, cfg=PrepareConfig(), workers=nw,
                                cache=True, progress=False)
            assert s['counts']['done'] == len(records) and s['counts']['no_face'] == 0
            cps = s['clips_per_s']
            print(f'{nw:<8}{cps:>10.2f}{cps * args.prepare_frames:>10.1f}{s["seconds"]:>8.1f}')
    finally:
        shutil.rmtree(root)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--clips', type=int, default=40)
    p.add_argument('--frames', type=int, default=30, help='frames per prepared clip')
    p.add_argument('--clip-len', type=int, default=16)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--skip-prepare', action='store_true')
    p.add_argument('--skip-pipeline', action='store_true')
    p.add_argument('--prepare-clips', type=int, default=8)
    p.add_argument('--prepare-frames', type=int, default=40)
    p.add_argument('--frame-size', default='2040x1088', help='release frame size WxH (SAMM)')
    p.add_argument('--workers', type=int, default=2, help='prepare with 1..N workers')
    procs = p.add_mutually_exclusive_group()
    procs.add_argument('--procs', type=int, default=1,
                       help='pipeline: time N processes loading at once (N DataLoader workers)')
    procs.add_argument('--config', help="pipeline: as many processes as this config's "
                       'train_dataloader.num_workers')
    p.add_argument('--json', help='write the pipeline clips/s (and the process count) here')
    args = p.parse_args()
    if args.config:
        from mmengine.config import Config
        args.procs = max(1, int(Config.fromfile(args.config).train_dataloader.num_workers))
    if args.procs < 1:
        p.error(f'--procs must be >= 1, got {args.procs}')
    cv2.setNumThreads(1)  # one DataLoader worker = one thread
    rates = None
    if not args.skip_pipeline:
        rates = bench_pipeline(args)
    if not args.skip_prepare:
        bench_prepare(args)
    if args.json:
        out = dict(clips_per_s=rates, procs=args.procs, config=args.config, clips=args.clips,
                   epochs=args.epochs, clip_len=args.clip_len)
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
        print(f'wrote {args.json}')


if __name__ == '__main__':
    main()
