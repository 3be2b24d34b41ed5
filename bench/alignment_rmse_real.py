"""Alignment accuracy on the MEGC2019 composite's real apex faces, in pixels of the aligned crop.

    python bench/alignment_rmse_real.py --every 2 --json alignment_rmse_real.json

Each face is placed into a black 640 x 480 frame by a random known similarity k (rotation +-10
degrees, scale 0.9-1.3, shift +-60 px; the placement of bench/face_detection_real.py) and aligned
there by FaceAligner (default framing, 224 crop, HOG stage only: a face HOG misses is counted and
left out). The reference is the face as given, aligned the same way (crop transform C0). With C1
the transform found in the placed frame, per face:

- ``landmark_rmse``: RMSE over the 68 landmarks, in crop px, of C1(landmarks found in the placed
  frame) against C0(landmarks found on the face as given): the landmark RMSE measured in the crop
  (bench/face_detection_real.py reports it in source px and derives the crop px from the scale);
- ``transform_rmse``: RMSE over the 68 points p of the face as given of C1(k(p)) against C0(p):
  how far the alignment puts the face from where the face as given lands, in crop px.

Both without and with the cascade's box refinement (``refine_box``: the landmarks predicted once
more on a square box around the first ones' extent; ``refined_*``), on the same faces and frames.
Prints median, IQR and p95 with the number of faces.
"""
import argparse
import json
import os.path as osp
import sys

import cv2
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'projects'))
sys.path.insert(0, HERE)

from face_detection_real import FRAME, paste  # noqa: E402
from mer_clip.preprocessing.face_align import FaceAligner  # noqa: E402
from mer_clip.preprocessing.face_detect import apply_affine  # noqa: E402
from mer_clip.utils.image_io import read_image  # noqa: E402

FACES = osp.join(HERE, '..', '..', 'shared', 'data', 'megc2019_composite_htnet', 'datasets',
                 'combined_datasets_whole')


def known_similarity(rng, h: int, w: int) -> np.ndarray:
    """(2, 3) a random rotation / scale about the face centre and shift into the frame."""
    k = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-10, 10), rng.uniform(0.9, 1.3))
    k[:, 2] += (FRAME[0] / 2 - w / 2 + rng.uniform(-60, 60),
                FRAME[1] / 2 - h / 2 + rng.uniform(-60, 60))
    return k


def _rmse(a, b):
    return round(float(np.sqrt(((a - b) ** 2).sum(1).mean())), 4)


def _errors(aligner: FaceAligner, img, placed, k):
    """(landmark_rmse, transform_rmse) in crop px, or the image where HOG missed the face."""
    lm0, lm1 = aligner.detect_landmarks(img), aligner.detect_landmarks(placed)
    if lm0 is None or lm1 is None:
        return 'as given' if lm0 is None else '640x480'
    c0, c1 = aligner.transform_from_landmarks(lm0), aligner.transform_from_landmarks(lm1)
    return (_rmse(apply_affine(lm1, c1), apply_affine(lm0, c0)),
            _rmse(apply_affine(apply_affine(lm0, k), c1), apply_affine(lm0, c0)))


def measure(path: str, seed: int, aligner: FaceAligner) -> dict:
    img = read_image(path)
    k = known_similarity(np.random.default_rng(seed), *img.shape[:2])
    placed = paste(img, k)
    out = dict(image=osp.basename(path))
    for prefix, refine in (('', False), ('refined_', True)):
        aligner.cascade.refine_box = refine
        err = _errors(aligner, img, placed, k)
        if isinstance(err, str):
            return dict(out, missed=err)
        out[prefix + 'landmark_rmse'], out[prefix + 'transform_rmse'] = err
    return out


def describe(values) -> str:
    v = np.asarray(values)
    return (f'median {np.median(v):.2f} px (IQR {np.percentile(v, 25):.2f}-'
            f'{np.percentile(v, 75):.2f}, p95 {np.percentile(v, 95):.2f}; {len(v)} faces)')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--faces', default=FACES)
    p.add_argument('--every', type=int, default=1, help='every N-th image (default all)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', help='write the per-image results here')
    args = p.parse_args(argv)
    names = sorted(f for f in __import__('os').listdir(args.faces) if f.endswith('.jpg'))
    names = names[::args.every]
    aligner = FaceAligner(stages=('hog', ))
    rows = [measure(osp.join(args.faces, n), args.seed * 100003 + i, aligner)
            for i, n in enumerate(names)]
    ok = [r for r in rows if 'missed' not in r]
    print(f'{len(rows)} faces, HOG missed {len(rows) - len(ok)}: '
          + ', '.join(f"{r['image']} ({r['missed']})" for r in rows if 'missed' in r))
    print('landmark RMSE in crop px:  ' + describe([r['landmark_rmse'] for r in ok]))
    print('transform RMSE in crop px: ' + describe([r['transform_rmse'] for r in ok]))
    print('refined landmark RMSE:     ' + describe([r['refined_landmark_rmse'] for r in ok]))
    print('refined transform RMSE:    ' + describe([r['refined_transform_rmse'] for r in ok]))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
