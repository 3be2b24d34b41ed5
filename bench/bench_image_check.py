"""The cost of checking a frame to its end: microseconds per JPEG, old check vs new, side by side.

    python bench/bench_image_check.py [--frames 200] [--repeats 10]

Frame sets: the real MEGC2019 composite images (224 px, HTNet's aligned apex frames; skipped when
/work/shared/data/megc2019_composite_htnet is absent) and frames of the project's renderer
(``make_synthetic_dataset``, written by OpenCV) at 64 px (data/synthetic's size) and 224 px.
Columns (per frame: each frame's fastest of ``--repeats`` calls, averaged over the set; the columns
interleaved frame by frame; the bytes already in memory except for ``read_image``, which opens the
file):

- ``old check``:      ``check_image_bytes`` before the change (EOI at the end, else Pillow decodes);
- ``walk``:           :func:`jpeg_structure_problem` alone (the marker walk to EOI);
- ``new check``:      ``check_image_bytes`` now (walk + a 1/8-size grey decode, libjpeg's stderr
                      captured);
- ``old read``, ``new read``: ``read_image`` (RGB, full size) before and now; the new one decodes
                      once, with the capture.
"""
import argparse
import glob
import io
import os.path as osp
import statistics
import tempfile
import time

import cv2
import numpy as np
from PIL import Image, ImageFile

import mer_clip  # noqa: F401  (compat first)
from mer_clip.datasets.synthetic import make_synthetic_dataset
from mer_clip.utils.image_io import check_image_bytes, read_image
from mer_clip.utils.jpeg_structure import jpeg_structure_problem

COMPOSITE = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'shared',
                     'data', 'megc2019_composite_htnet', 'datasets', 'combined_datasets_whole')


# the check as it was (commit bba52de, mer_clip/utils/image_io.py), to time it beside the new one
def _old_check_image_bytes(data):
    if not data:
        return 'empty file'
    if data.startswith(b'\xff\xd8'):
        if data.rstrip(b'\x00').endswith(b'\xff\xd9'):
            return None
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            return 'cannot check'
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
        except Exception as e:  # noqa: BLE001
            return f'truncated or damaged JPEG ({e})'
    return None


def _old_read_image(path):
    with open(path, 'rb') as f:
        data = f.read()
    if _old_check_image_bytes(data) is not None:
        raise ValueError(path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def per_frame_us(fns, n, repeats):
    """Microseconds per frame of each ``(fn, items)`` (``items[k]``: frame k): each frame's
    fastest of ``repeats`` calls, averaged over the frames. The calls go frame by frame through all
    the columns, so that a shared machine's load hits every column alike."""
    best = np.full((len(fns), n), np.inf)
    for _ in range(repeats):
        for k in range(n):
            for c, (fn, items) in enumerate(fns):
                t = time.perf_counter()
                fn(items[k])
                best[c, k] = min(best[c, k], time.perf_counter() - t)
    return best.mean(axis=1) * 1e6


def rendered(root, size, frames):
    make_synthetic_dataset(root, num_subjects=2, clips_per_subject=max(1, frames // 40),
                           size=size, frames_range=(20, 20), seed=0)
    return sorted(glob.glob(osp.join(root, 'frames', '*', '*', '*.jpg')))[:frames]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--frames', type=int, default=200, help='frames per set (default 200)')
    p.add_argument('--repeats', type=int, default=10)
    args = p.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        sets = {}
        real = sorted(glob.glob(osp.join(COMPOSITE, '*.jpg')))[:args.frames]
        if real:
            sets['composite 224 px (real)'] = real
        else:
            print(f'(real composite images absent: {COMPOSITE})')
        for size in (64, 224):
            sets[f'rendered {size} px'] = rendered(osp.join(tmp, str(size)), size, args.frames)
        cols = ['old check', 'walk', 'new check', 'old read', 'new read']
        print(f'{"frames":<26}{"n":>5}{"KiB":>6}' + ''.join(f'{c:>11}' for c in cols)
              + '   (us per frame)')
        for name, paths in sets.items():
            blobs = [open(q, 'rb').read() for q in paths]
            assert all(check_image_bytes(b) is None for b in blobs)
            fns = [(_old_check_image_bytes, blobs), (jpeg_structure_problem, blobs),
                   (check_image_bytes, blobs), (_old_read_image, paths), (read_image, paths)]
            per_frame_us(fns, min(20, len(blobs)), 1)  # warm-up
            us = per_frame_us(fns, len(blobs), args.repeats)
            kib = statistics.mean(len(b) for b in blobs) / 1024
            print(f'{name:<26}{len(blobs):>5}{kib:>6.1f}' + ''.join(f'{u:>11.1f}' for u in us))


if __name__ == '__main__':
    main()
