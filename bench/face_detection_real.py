"""The face detector cascade on the MEGC2019 composite's 442 real apex frames.

    python bench/face_detection_real.py --workers 2 --json face_detection_real.json

Measures, per source dataset (CASME II, SAMM, SMIC), with mer_clip.preprocessing.face_detect:

- detection as given (224 x 224) and pasted into the centre of a black 640 x 480 frame: which
  cascade stage found the face (a face found by ``hog`` is what the HOG detector alone finds);
- tilted copies: the face pasted into 640 x 480, rotated about its centre by 0/5/10/15/20 degrees
  (the sign drawn per image, ``--seed``);
- alignment against a known transform: the face placed into 640 x 480 by a random similarity
  (rotation +-10 degrees, scale 0.9-1.3, shift +-60 px); the 68 landmarks found there, moved back
  by the known transform, against the landmarks of the face as given (RMSE over 68 points, px of
  the source face), and the crop centre of FaceAligner (default framing) against the centre the
  face as given yields (px of the source face);
- time per image per stage that found the face (640 x 480, seconds; the machine may be shared).

Prints a Markdown summary (the tables of docs/prepare_data.md) and writes everything per image
with ``--json``. Needs ../shared/data/megc2019_composite_htnet and the composite's converted
annotations (``--ann``, for the dataset and subject of each image).
"""
import argparse
import json
import os.path as osp
import sys
import time
from collections import Counter, defaultdict
from multiprocessing import Pool

import cv2
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'projects'))

from mer_clip.preprocessing.face_align import FaceAligner  # noqa: E402
from mer_clip.preprocessing.face_detect import STAGES, apply_affine  # noqa: E402
from mer_clip.utils.image_io import read_image  # noqa: E402

TILTS = (0, 5, 10, 15, 20)
FRAME = (640, 480)  # (W, H)


def paste(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``img`` warped by ``matrix`` into a black 640 x 480 frame."""
    return cv2.warpAffine(img, matrix, FRAME, flags=cv2.INTER_LINEAR, borderValue=0)


def centred(img: np.ndarray, angle: float = 0.0) -> np.ndarray:
    """(2, 3): the face's centre onto the frame's centre, rotated by ``angle`` about it."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[:, 2] += (FRAME[0] / 2 - w / 2, FRAME[1] / 2 - h / 2)
    return m


def _timed_find(aligner, img):
    t0 = time.perf_counter()
    det = aligner.detect(img)
    return det, time.perf_counter() - t0


def measure(task):
    """All measurements of one image -> a JSON-able dict."""
    path, dataset, subject, seed = task
    rng = np.random.default_rng(seed)
    aligner = FaceAligner()
    img = read_image(path)
    out = dict(image=osp.basename(path), dataset=dataset, subject=subject)
    det0, t = _timed_find(aligner, img)
    out['given'] = dict(stage=det0.stage if det0 else None, seconds=round(t, 3))
    det, t = _timed_find(aligner, paste(img, centred(img)))
    out['pasted'] = dict(stage=det.stage if det else None, seconds=round(t, 3))
    out['tilted'] = {}
    for tilt in TILTS:
        angle = tilt * (1 if rng.random() < 0.5 else -1)
        det, t = _timed_find(aligner, paste(img, centred(img, angle))) if tilt else (det, t)
        out['tilted'][tilt] = dict(angle=angle, stage=det.stage if det else None,
                                   seconds=round(t, 3))
    if det0 is not None:  # alignment against a known similarity
        h, w = img.shape[:2]
        k = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-10, 10), rng.uniform(0.9, 1.3))
        k[:, 2] += (FRAME[0] / 2 - w / 2 + rng.uniform(-60, 60),
                    FRAME[1] / 2 - h / 2 + rng.uniform(-60, 60))
        placed = paste(img, k)
        al = aligner.estimate_clip(lambda i: placed, 0, [0])
        if al.method == 'landmarks':
            back = apply_affine(al.landmarks, cv2.invertAffineTransform(k))  # source pixels
            rmse = float(np.sqrt(((back - det0.landmarks) ** 2).sum(1).mean()))
            centre = np.array([[aligner.size[0] / 2, aligner.size[1] / 2]])
            m0 = aligner.transform_from_landmarks(det0.landmarks)  # face as given -> crop
            p0 = apply_affine(centre, cv2.invertAffineTransform(m0))
            p1 = apply_affine(apply_affine(centre, cv2.invertAffineTransform(al.matrix)),
                              cv2.invertAffineTransform(k))
            crop_scale = float(np.sqrt(abs(np.linalg.det(m0[:, :2]))))  # crop px per source px
            out['alignment'] = dict(rmse=round(rmse, 3), rmse_crop=round(rmse * crop_scale, 3),
                                    centre_error=round(float(np.linalg.norm(p1 - p0)), 3),
                                    stage=al.stage)
        else:
            out['alignment'] = dict(rmse=None, stage=None)
    return out


def _rate(stages):
    found = sum(s is not None for s in stages)
    return f'{found}/{len(stages)} ({100 * found / max(len(stages), 1):.1f}%)'


def _hog(stages):
    """What the HOG detector alone found: the cascade's ``hog`` stage."""
    return [s if s == 'hog' else None for s in stages]


def summarise(results):
    """Markdown tables from the per-image results."""
    by_ds = defaultdict(list)
    for r in results:
        by_ds[r['dataset']].append(r)
    by_ds['all'] = results
    lines = ['| source | images | HOG as given | cascade as given | HOG 640x480 | '
             'cascade 640x480 | stages 640x480 |', '|---|---|---|---|---|---|---|']
    for ds, rows in sorted(by_ds.items(), key=lambda kv: (kv[0] == 'all', kv[0])):
        g = [r['given']['stage'] for r in rows]
        p = [r['pasted']['stage'] for r in rows]
        st = Counter(s for s in p if s)
        lines.append(f'| {ds} | {len(rows)} | {_rate(_hog(g))} | {_rate(g)} | {_rate(_hog(p))} | '
                     f'{_rate(p)} | ' + ', '.join(f'{k} {st[k]}' for k in STAGES if st[k]) + ' |')
    lines += ['', '| tilt (degrees) | HOG | cascade | stages |', '|---|---|---|---|']
    for tilt in TILTS:
        s = [r['tilted'][tilt]['stage'] for r in results]
        st = Counter(x for x in s if x)
        hog = sum(x == 'hog' for x in s)
        lines.append(f'| {tilt} | {hog}/{len(s)} | {_rate(s)} | '
                     + ', '.join(f'{k} {st[k]}' for k in STAGES if st[k]) + ' |')
    al = [r['alignment'] for r in results if r.get('alignment', {}).get('rmse') is not None]
    if al:
        rm = np.array([a['rmse'] for a in al])
        ce = np.array([a['centre_error'] for a in al])
        lines += ['', f'alignment against a known similarity ({len(al)} faces): landmark RMSE '
                  f'median {np.median(rm):.2f} px (IQR {np.percentile(rm, 25):.2f}-'
                  f'{np.percentile(rm, 75):.2f}, p95 {np.percentile(rm, 95):.2f}) of the source '
                  f'face; crop centre error median {np.median(ce):.2f} px (p95 '
                  f'{np.percentile(ce, 95):.2f})']
        if all('rmse_crop' in a for a in al):
            lines[-1] += (f'; landmark RMSE in px of the 224 crop: median '
                          f"{np.median([a['rmse_crop'] for a in al]):.2f}")
    times = defaultdict(list)
    for r in results:
        for t in [r['pasted']] + [r['tilted'][k] for k in TILTS if k]:
            times[t['stage'] or 'none'].append(t['seconds'])
    lines += ['', '| stage that found the face (640x480) | images | seconds per image, median '
              '(p90) |', '|---|---|---|']
    for k in list(STAGES) + ['none']:
        if times[k]:
            v = np.array(times[k])
            lines.append(f'| {k} | {len(v)} | {np.median(v):.2f} ({np.percentile(v, 90):.2f}) |')
    misses = Counter(f"{r['dataset']} {r['subject']}" for r in results
                     if r['given']['stage'] != 'hog')
    lines += ['', 'HOG misses as given, by subject: ' + ', '.join(
        f'{k} {v}' for k, v in misses.most_common())]
    none = [r['image'] for r in results if r['pasted']['stage'] is None
            or r['given']['stage'] is None]
    lines.append(f'no face found by the cascade (as given or 640x480): {none or "none"}')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ann', default=osp.join(HERE, '..', 'data', 'megc2019_htnet',
                                             'annotations.json'))
    p.add_argument('--every', type=int, default=1, help='every N-th image (default all)')
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', help='write the per-image results here')
    p.add_argument('--summarise', metavar='JSONL',
                   help='only print the tables of the results so far (JSON.partial.jsonl)')
    args = p.parse_args(argv)
    if args.summarise:
        with open(args.summarise) as f:
            results = [json.loads(line) for line in f if line.strip()]
        for r in results:  # JSON made the tilt keys strings
            r['tilted'] = {int(k): v for k, v in r['tilted'].items()}
        print(summarise(results))
        print(f'\n{len(results)} images (results so far)')
        return
    with open(args.ann) as f:
        recs = json.load(f)['data_list']
    root = osp.dirname(osp.abspath(args.ann))
    tasks = [(osp.join(root, r['apex_image']), r['dataset'], r.get('source_subject'),
              args.seed * 100003 + i) for i, r in enumerate(recs) if r.get('apex_image')]
    tasks = tasks[::args.every]
    t0 = time.perf_counter()
    results = []
    partial = open(args.json + '.partial.jsonl', 'w') if args.json else None
    with Pool(args.workers, initializer=cv2.setNumThreads, initargs=(1, )) as pool:
        for r in pool.imap(measure, tasks, chunksize=2):  # in order; a partial file as it goes
            results.append(r)
            if partial:
                partial.write(json.dumps(r) + '\n')
                partial.flush()
    text = summarise(results)
    print(text)
    print(f'\n{len(results)} images, {time.perf_counter() - t0:.0f} s with {args.workers} '
          'worker(s)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(results=results, summary=text), f, indent=1)


if __name__ == '__main__':
    main()
