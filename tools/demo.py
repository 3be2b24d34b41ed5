"""Emotion probabilities and the most likely AUs of one face-cropped micro-expression clip.

    python tools/demo.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py CHECKPOINT \
        data/synthetic/frames/s01/s01_000 \
        [--onset 3 --apex 10 --offset 20] [--top-k 5] [--combinations 2]

CLIP is a folder of aligned face frames (file-name template inferred, or --filename-tmpl) or a video
file (0-based frame indices). The checkpoint is loaded with weights_only=True (a published
model-zoo file is checked against the hash in its name).

With ``--align`` CLIP is a raw recording whose face is not cropped (a video or a frame folder): it
is aligned first as ``tools/data/prepare_dataset.py`` does (the face detector cascade, one
transform per clip, ``--framing``), into ``--save-aligned DIR`` (default: a temporary folder). The
demo prints the frames used and how the face was found. Without ``--apex`` the apex is the frame
that differs most from the onset frame: a heuristic, not micro-expression spotting.

    python tools/demo.py CONFIG CHECKPOINT my_recording.mp4 --align --save-aligned aligned/
"""
import argparse
import sys
import tempfile

import os.path as osp

from mer_clip.apis import inference_me_clip, init_recognizer, retrieve_aus
from mer_clip.preprocessing.framing import DEFAULT_FRAMING, FRAMINGS, framing
from mer_clip.preprocessing.prepare import PrepareConfig
from mer_clip.preprocessing.recording import align_recording
from mer_clip.utils.cli import add_debug_argument, run_tool


def run(argv=None):
    p = argparse.ArgumentParser(description='MER-CLIP demo: emotion + AU retrieval for one clip')
    p.add_argument('config')
    p.add_argument('checkpoint', help='checkpoint path or URL')
    p.add_argument('clip', help='frame folder or video file')
    p.add_argument('--onset', type=int)
    p.add_argument('--apex', type=int)
    p.add_argument('--offset', type=int)
    p.add_argument('--filename-tmpl', help='e.g. img_{:05d}.jpg (default: inferred)')
    p.add_argument('--top-k', type=int, default=5)
    p.add_argument('--combinations', type=int, default=1,
                   help='also score AU combinations of up to this many AUs')
    p.add_argument('--device', default='cpu')
    p.add_argument('--align', action='store_true',
                   help='CLIP is a raw recording (face not cropped): align it first')
    p.add_argument('--save-aligned', help='with --align: write the aligned frames here')
    p.add_argument('--framing', default=DEFAULT_FRAMING, choices=sorted(FRAMINGS),
                   help='with --align: the framing the model was trained on')
    add_debug_argument(p)
    args = p.parse_args(argv)

    model = init_recognizer(args.config, args.checkpoint, device=args.device)
    kw = dict(onset=args.onset, apex=args.apex, offset=args.offset,
              filename_tmpl=args.filename_tmpl)
    tmp = None
    if args.align:
        if args.save_aligned is None:
            tmp = tempfile.TemporaryDirectory(prefix='mer_clip_aligned_')
        out_dir = args.save_aligned or osp.join(tmp.name, 'clip')
        d, y = framing(args.framing)
        info = align_recording(args.clip, out_dir, args.onset, args.apex, args.offset,
                               cfg=PrepareConfig(eye_distance=d, eye_y=y),
                               filename_tmpl=args.filename_tmpl)
        fa = info['face_align']
        how = (f"face found by {fa['stage']} on frame {fa['ref_frame']}"
               + (f", rotated {fa['rotation']:.1f} deg" if fa.get('rotation') else '')
               if fa['method'] == 'landmarks' else
               f"NO FACE found on frames {fa['tried']}: centre crop, not aligned")
        picked = (' (picked: most different from the onset; a heuristic, not ME spotting)'
                  if info['apex_picked'] else '')
        print(f"aligned {args.clip}: frames {info['onset']}..{info['offset']} "
              f"({info['num_frames']}), apex {info['apex']}{picked}; {how}; framing {args.framing}"
              + (f"; aligned frames in {out_dir}" if args.save_aligned else ''))
        args.clip = out_dir
        kw = dict(onset=info['onset'], apex=info['apex'], offset=info['offset'],
                  filename_tmpl=info['filename_tmpl'])
    probs = inference_me_clip(model, args.clip, **kw)
    print(f'emotion probabilities for {args.clip}:')
    for name, prob in sorted(probs.items(), key=lambda kv: -kv[1]):
        print(f'  {name:<12} {prob:.4f}')
    if getattr(model, 'align_head', None) is None:
        print('AU retrieval: not available (model without AU-text alignment)')
        return
    aus = retrieve_aus(model, args.clip, top_k=args.top_k, max_combination=args.combinations,
                       **kw)
    print(f'most likely AUs (cosine similarity in the aligned space; prob = softmax over '
          f'{"AU sets" if args.combinations > 1 else "single AUs"}):')
    for r in aus:
        print(f"  {r['label']:<14} {r['score']:+.4f}  p={r['prob']:.3f}  {r['name']}: "
              f"{r['description']}")


def main(argv=None) -> int:
    """The demo; a missing or unusable checkpoint, config or clip is one line (utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
