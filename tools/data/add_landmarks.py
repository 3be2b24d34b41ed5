"""Add five facial points (``landmarks5``) to every sample of a canonical annotation file.

    python tools/data/add_landmarks.py data/megc2019_htnet/annotations.json --out ann_lm5.json
    python tools/data/add_landmarks.py data/casme2/annotations.json   # a prepared dataset, in place

Each record gets ``"landmarks5": {"points": [[x, y] x 5], "image": "apex_image", "size": [W, H],
"stage": "hog"}``: left eye centre, right eye centre, nose tip, left mouth corner, right mouth
corner ("left"/"right" = the image's), in the pixel coordinates of the image named by ``image``
(the record's ``apex_image``; for a prepared clip dataset its apex frame, ``"apex_frame"`` with
``"frame"``), found by the face detector cascade (HOG, CNN, rotated copies) and dlib's 68
landmarks. A sample without a face (or whose image is unreadable) gets no field and is listed
in the summary. See mer_clip.preprocessing.landmarks5.
"""
import argparse
import json
import logging
import sys

from mer_clip.preprocessing.face_detect import STAGES, FaceCascade
from mer_clip.preprocessing.landmarks5 import add_landmarks5
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('ann_file', help='canonical annotation JSON')
    p.add_argument('--out', help='write the annotated file here (default: ANN_FILE in place)')
    p.add_argument('--image-root', help="what apex_image paths are relative to (the config's "
                   "data_root); default: the folder of ANN_FILE")
    p.add_argument('--frames-root', help="what frame_dir paths are relative to; default: frames/ "
                   "beside ANN_FILE")
    p.add_argument('--stages', nargs='+', default=list(STAGES), choices=STAGES,
                   help='detector cascade stages (default: all, in order)')
    p.add_argument('--summary', help='also write the summary (JSON) here')
    p.add_argument('--no-progress', action='store_true')
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    summary = add_landmarks5(args.ann_file, args.out, image_root=args.image_root,
                             frames_root=args.frames_root, cascade=FaceCascade(args.stages),
                             progress=not args.no_progress)
    print(f"landmarks5: {summary['found']}/{summary['total']} samples with a face "
          f"(stages {summary['stages']}), {summary['missed']} without, "
          f"{summary['seconds']} s -> {summary['out_file']}")
    for m in summary['missed_samples']:
        print(f"  no landmarks5: {m['sample_id']}: {m['reason']}")
    if args.summary:
        with open(args.summary, 'w') as f:
            json.dump(summary, f, indent=1)
    return 0


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
