"""Prepare a micro-expression release (or video files) for training: aligned face clips, annotation.

Usage::

    python tools/data/prepare_dataset.py samm   data/raw/SAMM   data/samm   --workers 2 --cache
    python tools/data/prepare_dataset.py casme2 data/raw/CASME2 data/casme2 \
        --ann data/raw/CASME2/CASME2-coding-20190701.xlsx
    python tools/data/prepare_dataset.py smic   data/raw/SMIC   data/smic   # SMIC-HS folder layout
    python tools/data/prepare_dataset.py video my_clips.csv data/mine  # video,onset,apex,offset,...
    python tools/data/prepare_dataset.py video clip.mp4 data/mine --onset 10 --apex 25 --offset 40

Writes ``OUT_ROOT/frames/<subject>/<sample_id>/img_{:05d}.jpg``, ``OUT_ROOT/annotations.json``
(canonical; ``data_prefix=dict(img='OUT_ROOT/frames')``), the sheet's conversion report
(``OUT_ROOT/annotations.conversion.md``) and ``OUT_ROOT/prepare_log.json``.
Re-running the same command resumes. A source frame that is missing, cut off or undecodable skips
its clip (counted, named in the log; ``--strict`` stops instead), and a final verification pass
decodes every written frame again (``--no-verify`` skips it; ``tools/data/check_dataset.py`` runs
the same check later). See docs/prepare_data.md.
"""
import argparse
import logging
import os.path as osp
import sys

import mer_clip  # noqa: F401  (stack workarounds, registries)
from mer_clip.preprocessing.face_detect import STAGES
from mer_clip.preprocessing.framing import DEFAULT_FRAMING, FRAMINGS, framing
from mer_clip.preprocessing.prepare import PrepareConfig, prepare_dataset, prepare_records
from mer_clip.preprocessing.release import RELEASES
from mer_clip.preprocessing.verify import format_report
from mer_clip.preprocessing.video import read_video_list, video_record
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('dataset', choices=sorted(RELEASES) + ['video'],
                   help="release name, or 'video' for video files")
    p.add_argument('raw_root', help='unpacked release folder; for video: a video file or a CSV '
                                    '(video,onset,apex,offset[,subject,sample_id,emotion,aus])')
    p.add_argument('out_root', help='output folder (frames/, annotations.json, prepare_log.json)')
    p.add_argument('--ann', nargs='+', help='release annotation sheet (DFME: one per split; SMIC: '
                                            'the release folder); default: searched under '
                                            'RAW_ROOT')
    p.add_argument('--frame-dir-tmpl', help='reader option: frame folder of a row, e.g. '
                                            '"{subject}/{filename}" (default: the reader\'s)')
    p.add_argument('--filename-tmpl', help='reader option: frame file name, e.g. "img{}.jpg"')
    p.add_argument('--frame-root', help='folder the sheet\'s frame folders are relative to '
                                        '(default: found under RAW_ROOT)')
    p.add_argument('--size', type=int, default=224, help='output width = height (default 224)')
    p.add_argument('--framing', default=DEFAULT_FRAMING, choices=sorted(FRAMINGS),
                   help=f'where the face sits in the crop (preset eye distance and eye height; '
                        f'default {DEFAULT_FRAMING}; docs/prepare_data.md)')
    p.add_argument('--eye-distance', type=float,
                   help="inter-ocular distance / output width (default: the framing's)")
    p.add_argument('--eye-y', type=float,
                   help="eye line height / output height (default: the framing's)")
    p.add_argument('--search-frames', type=int, default=10,
                   help='frames after the onset tried when the onset has no face (default 10)')
    p.add_argument('--detector-stages', nargs='+', default=list(STAGES), choices=STAGES,
                   help='face detector cascade stages, run in this order where the ones before '
                        'find nothing (default: all)')
    p.add_argument('--rotation-angles', nargs='+', type=float, default=[10, -10, 20, -20],
                   help='rotations (degrees) tried by the rotated stages (default 10 -10 20 -20)')
    p.add_argument('--workers', type=int, default=1, help='processes (default 1)')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--only-sampled-frames', dest='only_sampled', action='store_true', default=None,
                   help='write only onset..offset (default for casme3)')
    g.add_argument('--all-frames', dest='only_sampled', action='store_false',
                   help='write every frame of the release folder (default except casme3)')
    p.add_argument('--cache', action='store_true',
                   help='also write the sampled frames of each clip as one uint8 .npy '
                        '(read by LoadClipCache)')
    p.add_argument('--clip-len', type=int, default=16, help='frames per cached clip (default 16)')
    p.add_argument('--cache-short-side', type=int,
                   help='store cached frames resized to this short side (the training Resize, e.g. '
                        '256): same pipeline output, no resize per epoch')
    p.add_argument('--jpeg-quality', type=int, default=95)
    p.add_argument('--strict', action='store_true',
                   help='stop at the first clip that cannot be prepared or has no face, instead '
                        'of skipping it / centre-cropping it')
    p.add_argument('--overwrite', action='store_true',
                   help='delete OUT_ROOT/frames first (needed to change settings of an OUT_ROOT)')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--no-verify', action='store_true',
                   help='skip the final pass that decodes every written frame again')
    add_debug_argument(p)
    v = p.add_argument_group('video (one file)')
    v.add_argument('--onset', type=int, help='0-based onset frame index')
    v.add_argument('--apex', type=int, help='0-based apex frame index (optional)')
    v.add_argument('--offset', type=int, help='0-based offset frame index')
    v.add_argument('--subject', default='video')
    v.add_argument('--sample-id')
    v.add_argument('--emotion', default='unknown')
    v.add_argument('--aus', default='', help='AU string, e.g. "4+L12"')
    return p.parse_args(argv)


def _run(args, common) -> dict:
    if args.dataset == 'video':
        if args.raw_root.lower().endswith('.csv'):
            records = read_video_list(args.raw_root)
        else:
            if args.onset is None or args.offset is None:
                raise ValueError('video: give --onset and --offset (0-based frame indices), '
                                 'or a CSV list')
            records = [video_record(osp.abspath(args.raw_root), args.onset, args.apex, args.offset,
                                    sample_id=args.sample_id, subject=args.subject,
                                    emotion=args.emotion, aus=args.aus)]
        summary = prepare_records(records, args.out_root,
                                  metainfo=dict(dataset_name='video', source=args.raw_root,
                                                format_version=1), **common)
    else:
        reader_kwargs = {k: v for k, v in dict(frame_dir_tmpl=args.frame_dir_tmpl,
                                                filename_tmpl=args.filename_tmpl).items() if v}
        summary = prepare_dataset(args.dataset, args.raw_root, args.out_root, ann_file=args.ann,
                                  frame_root=args.frame_root, only_sampled_frames=args.only_sampled,
                                  reader_kwargs=reader_kwargs, **common)
    return summary


def run(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    eye_distance, eye_y = framing(args.framing)
    if args.eye_distance is not None:
        eye_distance = args.eye_distance
    if args.eye_y is not None:
        eye_y = args.eye_y
    cfg = PrepareConfig(size=args.size, eye_distance=eye_distance, eye_y=eye_y,
                        search_frames=args.search_frames, jpeg_quality=args.jpeg_quality,
                        only_sampled_frames=bool(args.only_sampled),
                        detector_stages=list(args.detector_stages),
                        rotation_angles=[float(a) for a in args.rotation_angles])
    common = dict(cfg=cfg, workers=args.workers, cache=args.cache, clip_len=args.clip_len,
                  cache_short_side=args.cache_short_side,
                  strict=args.strict, overwrite=args.overwrite, progress=not args.no_progress,
                  verify=not args.no_verify)
    summary = _run(args, common)  # user errors: one line, by run_tool
    c = summary['counts']
    print(f'{args.dataset}: {c["done"]} prepared, {c["resumed"]} already done, {c["skipped"]} '
          f'skipped, {c["no_face"]} without a face (centre crop); {summary["seconds"]:.1f} s, '
          f'{summary["clips_per_s"]} clips/s with {args.workers} worker(s)')
    a = summary['alignment']
    print('face found by: ' + ', '.join(f'{k} {v}' for k, v in a['stages'].items())
          + f'; on a later frame {a["other_frame"]}, rotated {a["rotated"]}, several faces '
          f'{a["several_faces"]} (per clip: prepare_log.json -> clips)')
    if c['skipped']:
        print(f'skipped clips and reasons: {osp.join(args.out_root, "prepare_log.json")}')
    if 'verify' in summary:
        print('verification: ' + format_report(summary['verify']))
        if summary['verify']['num_problems']:
            return 1
    return 0


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
