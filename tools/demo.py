"""Emotion probabilities and the most likely AUs of one face-cropped micro-expression clip.

    python tools/demo.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py CHECKPOINT \
        data/synthetic/frames/s01/s01_000 \
        [--onset 3 --apex 10 --offset 20] [--top-k 5] [--combinations 2]

CLIP is a folder of aligned face frames (file-name template inferred, or --filename-tmpl) or a video
file (0-based frame indices). The checkpoint is loaded with weights_only=True (a published
model-zoo file is checked against the hash in its name).
"""
import argparse
import sys

from mer_clip.apis import inference_me_clip, init_recognizer, retrieve_aus
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
    add_debug_argument(p)
    args = p.parse_args(argv)

    model = init_recognizer(args.config, args.checkpoint, device=args.device)
    kw = dict(onset=args.onset, apex=args.apex, offset=args.offset,
              filename_tmpl=args.filename_tmpl)
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
