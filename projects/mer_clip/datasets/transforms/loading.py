"""Load the sampled frames of an ME clip from a frame folder or a video file."""
import os.path as osp
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from mer_clip.utils.image_io import read_image


def _sample_name(results: Dict) -> str:
    return str(results.get('sample_id', results.get('frame_dir', results.get('video', '?'))))


def set_frames(results: Dict, imgs) -> Dict:
    """``imgs`` (list of H x W x 3) as the clip, with ``img_shape`` / ``original_shape`` (the keys
    mmaction's loaders set)."""
    results['imgs'] = imgs
    results['original_shape'] = imgs[0].shape[:2]
    results['img_shape'] = imgs[0].shape[:2]
    return results


@TRANSFORMS.register_module()
class LoadMEFrames(BaseTransform):
    """Read ``frame_inds`` from ``frame_dir`` / ``filename_tmpl`` as RGB uint8 images.

    Required keys: ``frame_dir``, ``filename_tmpl``, ``frame_inds`` (frame numbers as in the file
    names). Added keys: ``imgs`` (list of HxWx3 uint8, RGB), ``img_shape``, ``original_shape``.
    A repeated frame number (short clips) is decoded once. A missing, truncated (a cut-off JPEG,
    which OpenCV alone would fill with grey) or undecodable file raises an error naming the sample
    and the file (:func:`mer_clip.utils.image_io.read_image`).
    """

    def transform(self, results: Dict) -> Dict:
        frame_dir, tmpl = results['frame_dir'], results['filename_tmpl']
        decoded = {}
        imgs = []
        for idx in np.asarray(results['frame_inds']).tolist():
            if idx not in decoded:
                path = osp.join(frame_dir, tmpl.format(idx))
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'sample {_sample_name(results)}: frame {idx} not found at {path}. Check '
                        'frame_dir / filename_tmpl / onset..offset in the annotation file, or '
                        're-run tools/data/prepare_dataset.py.')
                decoded[idx] = read_image(path, what=f'sample {_sample_name(results)}: ')
            imgs.append(decoded[idx])
        shapes = {im.shape for im in imgs}
        if len(shapes) > 1:
            raise ValueError(f'sample {_sample_name(results)}: frames in {frame_dir} have '
                             f'different sizes {sorted(shapes)}; re-run the face cropping.')
        return set_frames(results, imgs)


@TRANSFORMS.register_module()
class LoadMEVideo(BaseTransform):
    """Read ``frame_inds`` (0-based frame indices) of ``video`` with decord, as RGB uint8 images."""

    def __init__(self, num_threads: int = 1) -> None:
        self.num_threads = num_threads

    def transform(self, results: Dict) -> Dict:
        import decord  # here: needed for video input only, as in mmaction's loaders
        path = results['video']
        if not osp.isfile(path):
            raise FileNotFoundError(f'sample {_sample_name(results)}: video not found at {path}')
        try:
            reader = decord.VideoReader(path, num_threads=self.num_threads)
        except Exception as e:  # decord raises its own DECORDError
            raise ValueError(f'sample {_sample_name(results)}: cannot open video {path}: {e}') from e
        inds = np.asarray(results['frame_inds'], dtype=np.int64)
        if inds.min() < 0 or inds.max() >= len(reader):
            raise IndexError(f'sample {_sample_name(results)}: frames {inds.min()}..{inds.max()} '
                             f'requested but {path} has {len(reader)} frames (indices are 0-based)')
        frames = reader.get_batch(inds.tolist()).asnumpy()  # (T, H, W, 3) RGB
        return set_frames(results, list(frames))
