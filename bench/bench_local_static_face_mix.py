"""Time LocalStaticFaceMix against mmaction's MixupBlending on the same batch, side by side.

    python bench/bench_local_static_face_mix.py [--device cuda] [--repeats 30] [--threads 1]

Batch: 8 clips of 3 x 16 x 224 x 224 float32 (NCTHW), as the data preprocessor hands them over.
Prints the median time of each (after warm-up) and the ratio LSFM / Mixup (target <= 1.5).
LSFM is timed with prob=1 (every clip mixed, the worst case) and the config's prob=0.5, in place
(its default, like CutmixBlending) and on a copy (``inplace=False``).
"""
import argparse
import statistics
import time

import torch

import mer_clip  # noqa: F401  (compat, registries)
from mmaction.models.utils.blending_utils import MixupBlending
from mmaction.structures import ActionDataSample

from mer_clip.models.data_preprocessors import LocalStaticFaceMix


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def median_time(fn, imgs, samples, device, warmup, repeats):
    for _ in range(warmup):
        fn(imgs, samples)
    sync(device)
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn(imgs, samples)
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    imgs = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    samples = []
    for i in range(args.batch):
        s = ActionDataSample()
        s.set_gt_label(i % 5)
        s.set_metainfo(dict(onset_index=0))
        samples.append(s)

    mixup = MixupBlending(num_classes=5, alpha=0.2)

    def run_mixup(x, ds):
        for s, label in zip(ds, labels):  # Mixup turns labels soft: restore the hard ones
            s.set_gt_label(label)
        return mixup(x, ds)

    labels = [i % 5 for i in range(args.batch)]
    variants = [('LSFM prob=1.0 in place', LocalStaticFaceMix(prob=1.0, seed=0)),
                ('LSFM prob=0.5 in place', LocalStaticFaceMix(prob=0.5, seed=0)),
                ('LSFM prob=1.0 copy', LocalStaticFaceMix(prob=1.0, seed=0, inplace=False))]
    print(f'device {device}, threads {torch.get_num_threads()}, batch '
          f'{tuple(imgs.shape)} float32, median of {args.repeats} after {args.warmup} warm-up')
    t_mix = median_time(run_mixup, imgs, samples, device, args.warmup, args.repeats)
    print(f'{"MixupBlending":26s} {t_mix * 1e3:9.2f} ms')
    for name, lsfm in variants:
        t = median_time(lsfm, imgs, samples, device, args.warmup, args.repeats)
        print(f'{name:26s} {t * 1e3:9.2f} ms   ratio to Mixup {t / t_mix:5.2f}x')
    # Mixup again: the two measurements of the baseline bracket the LSFM ones
    t_mix2 = median_time(run_mixup, imgs, samples, device, args.warmup, args.repeats)
    print(f'{"MixupBlending (again)":26s} {t_mix2 * 1e3:9.2f} ms')


if __name__ == '__main__':
    main()
