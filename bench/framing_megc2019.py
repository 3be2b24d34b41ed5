"""Where the MEGC2019 composite's published crops put the face: eye distance and eye-line height.

    python tools/data/add_landmarks.py data/megc2019_htnet/annotations.json --out lm5.json
    python bench/framing_megc2019.py lm5.json

Reads the ``landmarks5`` of each sample (the 224 x 224 released apex frames) and prints, per source
dataset, the median and IQR of the distance between the eye centres and of the eye line's height,
as fractions of the image width / height: the values of the ``megc2019_<source>`` presets in
mer_clip/preprocessing/framing.py.
"""
import argparse
import json
from collections import defaultdict

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_file', help='annotation JSON with landmarks5 (tools/data/add_landmarks.py)')
    args = p.parse_args(argv)
    with open(args.ann_file) as f:
        recs = json.load(f)['data_list']
    rows = defaultdict(list)
    for r in recs:
        lm = r.get('landmarks5')
        if not lm:
            continue
        pts, (w, h) = np.array(lm['points']), lm['size']
        d = np.linalg.norm(pts[1] - pts[0]) / w
        y = (pts[0, 1] + pts[1, 1]) / 2 / h
        rows[r.get('dataset', '?')].append((d, y))
        rows['all'].append((d, y))
    print('| source | samples | eye distance / width, median (IQR) | '
          'eye y / height, median (IQR) |')
    print('|---|---|---|---|')
    for ds, v in sorted(rows.items(), key=lambda kv: (kv[0] == 'all', kv[0])):
        v = np.array(v)
        q = [np.percentile(v, k, axis=0) for k in (25, 50, 75)]
        print(f'| {ds} | {len(v)} | {q[1][0]:.3f} ({q[0][0]:.3f}-{q[2][0]:.3f}) | '
              f'{q[1][1]:.3f} ({q[0][1]:.3f}-{q[2][1]:.3f}) |')


if __name__ == '__main__':
    main()
