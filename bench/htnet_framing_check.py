"""Is the 28 x 28 flow image the apex image's face framing, scaled down? (HTNet's areas assume so.)

CropFacialAreas scales landmarks found on the 224 x 224 apex image by 28 / 224 onto the flow image.
That is right only if both show the same face box. Without onset frames the flow cannot be
recomputed here, so this compares where the two images place the eyes, per source dataset: the
darkest spot of the mean apex image (downscaled to 28 x 28, box filter) in each upper quarter
(the eyes), and the largest mean flow deviation from the image's median in the same quarters
(blinks, brow and eyelid motion). Same place within a pixel or two: same framing.

    python bench/htnet_framing_check.py [--ann data/megc2019_htnet/annotations.json]
"""
import argparse
import collections
import json
import os.path as osp

import numpy as np
from PIL import Image
from scipy import ndimage


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ann', default='data/megc2019_htnet/annotations.json')
    args = p.parse_args(argv)
    root = osp.dirname(args.ann)
    with open(args.ann) as f:
        records = json.load(f)['data_list']
    apex_sum, flow_sum, n = (collections.defaultdict(float), collections.defaultdict(float),
                             collections.Counter())
    for r in records:
        apex = Image.open(osp.join(root, r['apex_image'])).convert('L')
        apex = np.asarray(apex.resize((28, 28), Image.BOX), dtype=float)  # (28, 28)
        flow = np.asarray(Image.open(osp.join(root, r['flow_image'])), dtype=float)  # (28, 28, 3)
        ds = r['dataset']
        n[ds] += 1
        apex_sum[ds] = apex_sum[ds] + apex
        flow_sum[ds] = flow_sum[ds] + np.abs(flow - np.median(flow, axis=(0, 1))).sum(2)
    print('| dataset | samples | eyes in the mean apex (x, y) | largest mean flow (x, y) |')
    print('| --- | --- | --- | --- |')
    for ds in n:
        found = []
        for img, pick in ((apex_sum[ds] / n[ds], np.argmin), (flow_sum[ds] / n[ds], np.argmax)):
            img = ndimage.gaussian_filter(img, 1)
            spots = []
            for c0 in (0, 14):  # left and right upper quarter, rows 2..13
                sub = img[2:14, c0:c0 + 14]
                y, x = np.unravel_index(pick(sub), sub.shape)
                spots.append(f'({x + c0}, {y + 2})')
            found.append(' / '.join(spots))
        print(f'| {ds} | {n[ds]} | {found[0]} | {found[1]} |')


if __name__ == '__main__':
    main()
