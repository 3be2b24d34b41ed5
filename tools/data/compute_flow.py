"""Onset-to-apex optical flow images for a prepared dataset (tools/data/prepare_dataset.py output).

Usage::

    python tools/data/compute_flow.py data/samm                      # TV-L1 if cv2.optflow exists
    python tools/data/compute_flow.py data/samm --method farneback --size 28 --workers 2

Writes ``ROOT/frames/<subject>/<sample_id>/flow_28x28.png`` (RGB = u, v, strain, each min-max
normalised to 0..255, the format of the published MEGC2019 composite images) with a ``.json``
sidecar (method, raw ranges), and ``ROOT/annotations_flow.json``: the annotation with
``flow_image``, ``apex_image``, ``flow_range``, ``flow_method`` per record (paths relative to
``frames/``; configs keep ``data_prefix=dict(img='ROOT/frames')``). Re-running resumes.
See docs/prepare_data.md.
"""
import argparse
import logging
import sys

import mer_clip  # noqa: F401  (stack workarounds, registries)
from mer_clip.preprocessing.flow_images import MISSING_APEX, write_flow_images
from mer_clip.preprocessing.optical_flow import FLOW_METHODS
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('root', help='prepared dataset folder (annotations.json, frames/)')
    p.add_argument('--ann', help='annotation file (default ROOT/annotations.json)')
    p.add_argument('--frames-root', help='folder frame_dir is relative to (default ROOT/frames)')
    p.add_argument('--out-ann', help='output annotation (default ROOT/annotations_flow.json)')
    p.add_argument('--size', type=int, nargs='+', default=[28],
                   help='flow image size: S or H W (default 28)')
    p.add_argument('--method', choices=FLOW_METHODS, default='auto',
                   help='auto: TV-L1 when cv2.optflow exists (opencv-contrib-python), else '
                        'Farneback (default auto)')
    p.add_argument('--missing-apex', choices=MISSING_APEX, default='middle',
                   help='clips without apex: use the middle frame (default), skip them, or stop')
    p.add_argument('--workers', type=int, default=1, help='processes (default 1)')
    p.add_argument('--strict', action='store_true',
                   help='stop at the first clip whose frames cannot be read instead of skipping')
    p.add_argument('--overwrite', action='store_true', help='recompute existing flow images')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    add_debug_argument(p)
    args = p.parse_args(argv)
    if len(args.size) not in (1, 2):
        p.error('--size takes S or H W')
    return args


def run(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    size = args.size * 2 if len(args.size) == 1 else args.size
    summary = write_flow_images(args.root, ann_file=args.ann, frames_root=args.frames_root,
                                out_ann=args.out_ann, size=size, method=args.method,
                                missing_apex=args.missing_apex, workers=args.workers,
                                strict=args.strict, overwrite=args.overwrite,
                                progress=not args.no_progress)
    c = summary['counts']
    print(f'flow ({summary["method"]}): {c["done"]} computed, {c["resumed"]} already done, '
          f'{c["skipped"]} skipped, {c["apex_middle"]} without apex (middle frame used); '
          f'{summary["seconds"]:.1f} s -> {summary["out_ann"]}')
    return 0


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
