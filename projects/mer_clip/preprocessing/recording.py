"""A user's own recording (a raw video or frame folder, face not cropped) made ready for a model.

The same face alignment as ``tools/data/prepare_dataset.py`` (:func:`~.prepare.prepare_clip`:
the detector cascade, one transform per clip, the same framing), written as an aligned frame
folder that ``tools/demo.py --align`` then predicts on, and that the user can look at to see what
the model saw.

Without a given apex, :func:`pick_apex` takes the frame of onset..offset that differs most from
the onset frame (mean absolute grey-level difference of the aligned frames, smoothed over 3
frames). This is a heuristic for a recording of one expression, not micro-expression spotting: head
motion, blinks or lighting changes move frames as much as an expression does.
"""
import os.path as osp
from typing import Optional

import cv2
import numpy as np

from mer_clip.datasets.frame_names import infer_frame_template

from .frames import OUT_TMPL, FolderSource, PrepareError, VideoSource
from .prepare import PrepareConfig, prepare_clip


def pick_apex(frame_dir: str, onset: int, offset: int, tmpl: str = OUT_TMPL) -> int:
    """The frame of onset..offset (aligned frames in ``frame_dir``) farthest from the onset."""
    def grey(n):
        img = cv2.imread(osp.join(frame_dir, tmpl.format(n)), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise PrepareError(f'cannot read aligned frame {osp.join(frame_dir, tmpl.format(n))}')
        return img.astype(np.float32)

    first = grey(onset)
    diffs = np.array([np.abs(grey(n) - first).mean() for n in range(onset, offset + 1)])
    if len(diffs) >= 3:  # one noisy frame should not win
        diffs = np.convolve(diffs, np.ones(3) / 3, mode='same')
    return onset + int(np.argmax(diffs))


def align_recording(path: str, out_dir: str, onset: Optional[int] = None,
                    apex: Optional[int] = None, offset: Optional[int] = None,
                    cfg: Optional[PrepareConfig] = None,
                    filename_tmpl: Optional[str] = None) -> dict:
    """Align a raw video / frame folder into ``out_dir`` -> what was done.

    Frame numbers are the video's 0-based indices or the folder's file numbers; onset/offset
    default to the first/last frame, the apex to :func:`pick_apex`. Returns ``dict(frame_dir,
    filename_tmpl, onset, apex, apex_picked, offset, num_frames, face_align)`` (``face_align``:
    the cascade stage, reference frame, rotation; ``method`` ``center_crop`` when no face was
    found on any tried frame).
    """
    if osp.isdir(path):
        tmpl = filename_tmpl or infer_frame_template(path)[0]
        factory = lambda: FolderSource(path, tmpl)  # noqa: E731
    elif osp.isfile(path):
        factory = lambda: VideoSource(path)  # noqa: E731
    else:
        raise FileNotFoundError(f'{path} is neither a frame folder nor a video file')
    numbers = factory().numbers()
    if not numbers:
        raise PrepareError(f'{path}: no frames')
    onset = min(numbers) if onset is None else int(onset)
    offset = max(numbers) if offset is None else int(offset)
    if not min(numbers) <= onset <= offset <= max(numbers):
        raise ValueError(f'{path}: need {min(numbers)} <= onset ({onset}) <= offset ({offset}) '
                         f'<= {max(numbers)}')
    cfg = cfg or PrepareConfig()
    cfg.only_sampled_frames = True
    record = dict(sample_id=osp.basename(osp.normpath(path)), onset=onset, offset=offset)
    meta = prepare_clip(factory, record, out_dir, cfg)
    picked = apex is None
    if picked:
        apex = pick_apex(out_dir, onset, offset)
    return dict(frame_dir=out_dir, filename_tmpl=OUT_TMPL, onset=onset, apex=int(apex),
                apex_picked=picked, offset=offset, num_frames=meta['num_frames'],
                face_align=meta['face_align'])
