"""Grad-CAM of the predicted (or a given) emotion on the apex frame, as the paper's Fig. 6.

    python tools/analysis/gradcam.py CONFIG CHECKPOINT CLIP [--onset --apex --offset] \
        [--target CLASS] [--out gradcam.png]

CLIP is a frame folder or a video file, as for tools/demo.py. The map is computed on the last local
UniBlock of the UniFormerV2 encoder (see mer_clip/apis/analysis.py for why mmaction's GradCAM
utility does not fit this recognizer) and shown over the apex frame next to the onset and apex
frames.
"""
import argparse

from mmengine.config import DictAction

from mer_clip.apis import class_names, init_recognizer, prepare_clip
from mer_clip.apis.analysis import grad_cam, save_grad_cam_figure


def run(config, checkpoint, clip, out, target=None, cfg_options=None, **clip_kwargs):
    model = init_recognizer(config, checkpoint, cfg_options=cfg_options)
    names = class_names(model)
    if isinstance(target, str) and not target.isdigit():
        if target not in names:
            raise ValueError(f'--target {target!r} is not a class; classes are {names}')
        target = names.index(target)
    data = prepare_clip(model, clip, **clip_kwargs)
    result = grad_cam(model, data, None if target is None else int(target))
    return save_grad_cam_figure(result, out, names), result


def main(argv=None):
    p = argparse.ArgumentParser(description='Grad-CAM on the apex frame')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None, help='(none: random weights)')
    p.add_argument('clip')
    p.add_argument('--onset', type=int)
    p.add_argument('--apex', type=int)
    p.add_argument('--offset', type=int)
    p.add_argument('--filename-tmpl')
    p.add_argument('--target', help='class name or index (default: the predicted class)')
    p.add_argument('--out', default='gradcam.png')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    out, result = run(args.config, args.checkpoint, args.clip, args.out, args.target,
                      args.cfg_options, onset=args.onset, apex=args.apex, offset=args.offset,
                      filename_tmpl=args.filename_tmpl)
    print(f'wrote {out} (class index {result["target"]}, apex at clip frame '
          f'{result["apex_index"]})')


if __name__ == '__main__':
    main()
