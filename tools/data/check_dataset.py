"""Scan a prepared dataset: every frame a clip may sample exists and decodes completely.

    python tools/data/check_dataset.py data/samm/annotations.json              # frames/ beside it
    python tools/data/check_dataset.py ANN_FILE --frames-root data/samm/frames --workers 2 \
        --out check_report.json

Checks, per clip, the frames of onset..offset (present, checked to their end: a cut-off JPEG, also
one padded with zeros to its size, is reported, not filled with grey), their sizes, the frame count
recorded in ``clip.json``, the clip cache (``clip_cache``), video files and derived images
(``apex_image`` / ``flow_image``); and lists clip folders that no record uses. Says how each
clip's face was found (clips per detector stage, on a later frame, rotated, several faces; the
centre-cropped clips by name). Prints a summary and the first problems, writes the full report as
JSON with ``--out``; exits 1 when anything is wrong, or when the annotation file holds no clip
(nothing was verified); with ``--strict`` also when a clip was centre-cropped (no face).
"""
import argparse
import json
import sys

from mer_clip.preprocessing.verify import format_report, verify_dataset
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_file', help='canonical annotation JSON of the dataset')
    p.add_argument('--frames-root', help="what the records' frame_dir are relative to (the "
                   "config's data_prefix['img']); default: frames/ beside ANN_FILE")
    p.add_argument('--workers', type=int, default=1, help='processes (default 1)')
    p.add_argument('--out', help='write the full report (JSON) here')
    p.add_argument('--strict', action='store_true',
                   help='also fail (exit 1) when a clip has no face (centre crop, not aligned)')
    p.add_argument('--no-progress', action='store_true')
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None) -> int:
    args = parse_args(argv)
    report = verify_dataset(args.ann_file, args.frames_root, workers=args.workers,
                            progress=not args.no_progress)
    print(format_report(report))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
        print(f'report: {args.out}')
    crops = (report.get('alignment') or {}).get('center_crop_clips', [])
    if args.strict and crops:
        print(f'strict: {len(crops)} clip(s) without a face were centre-cropped, not aligned')
        return 1
    return 0 if report['ok'] else 1


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
