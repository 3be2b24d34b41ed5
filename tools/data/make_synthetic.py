"""Render the synthetic micro-expression dataset (the embedded default for demos and tests).

Writes ``<out>/frames/<subject>/<sample_id>/img_{:05d}.jpg`` and ``<out>/annotations.json``
(canonical format, raw emotions for the ``synthetic_3`` class scheme). Deterministic: the same
arguments give the same bytes, whatever ``--workers``. See :mod:`mer_clip.datasets.synthetic` for
what is drawn and :mod:`mer_clip.face_renderer` for how.

Example::

    python tools/data/make_synthetic.py --out data/synthetic --subjects 8 --clips-per-subject 12 \
        --size 64 --seed 0

A config then reads it with ``ann_file='data/synthetic/annotations.json'``,
``data_prefix=dict(img='data/synthetic/frames')`` and ``class_scheme='synthetic_3'``.
"""
import argparse
import os
import time

from mer_clip.datasets.synthetic import describe, make_synthetic_dataset


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Render the synthetic micro-expression dataset.')
    p.add_argument('--out', default='data/synthetic', help='output folder')
    p.add_argument('--subjects', type=int, default=8)
    p.add_argument('--clips-per-subject', type=int, default=12)
    p.add_argument('--size', type=int, default=64, help='frame side in pixels (square frames)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--min-frames', type=int, default=20)
    p.add_argument('--max-frames', type=int, default=40)
    p.add_argument('--gray', action='store_true', help='write grey-level frames')
    p.add_argument('--workers', type=int, default=0,
                   help='render with N processes (0/1: in this process); output is identical')
    p.add_argument('--overwrite', action='store_true',
                   help='replace a synthetic dataset already in --out')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    ann = make_synthetic_dataset(
        args.out, num_subjects=args.subjects, clips_per_subject=args.clips_per_subject,
        size=args.size, seed=args.seed, workers=args.workers,
        frames_range=(args.min_frames, args.max_frames), color=not args.gray,
        overwrite=args.overwrite)
    dt = time.perf_counter() - t0
    print(f'wrote {ann}')
    print(f'  frames under {os.path.join(args.out, "frames")}')
    print(f'  {describe(ann)}')
    print(f'  took {dt:.1f} s ({max(args.workers, 1)} process(es))')


if __name__ == '__main__':
    main()
