"""The clip cache: a clip's sampled frames stacked into one ``.npy`` inside its prepared folder.

Loading one array per clip (``LoadClipCache``) instead of T JPEGs is what makes an epoch cheap; the
array holds exactly what the JPEG pipeline would load (the frames :func:`sample_me_indices` picks,
decoded from the written JPEGs), so both loaders train the same model.
"""
import os
import os.path as osp
from typing import Optional

import numpy as np
from mmaction.datasets.transforms import Resize

from mer_clip.datasets.transforms.sampling import sample_me_indices

from .frames import OUT_TMPL, FolderSource


def cache_name(clip_len: int, short_side: Optional[int] = None) -> str:
    return f'clip_t{clip_len}.npy' if not short_side else f'clip_t{clip_len}_s{short_side}.npy'


def write_clip_cache(clip_dir: str, record: dict, clip_len: int,
                     short_side: Optional[int] = None) -> str:
    """Stack the sampled frames of a finished clip folder into ``clip_t<T>[_s<S>].npy`` -> its path.

    Frames are decoded from the written JPEGs (as :class:`LoadMEFrames` does), so the cache holds
    exactly the pixels the JPEG pipeline would load. With ``short_side``, they are also resized
    with mmaction's ``Resize(scale=(-1, short_side))``, the first step of the training pipeline:
    that step then meets frames of its output size (a copy in OpenCV), and the pipeline's output is
    unchanged without paying the resize per clip per epoch.
    """
    inds = sample_me_indices(record['onset'], record.get('apex'), record['offset'], clip_len)
    src = FolderSource(clip_dir, OUT_TMPL)
    decoded = {n: src.load(n) for n in np.unique(inds).tolist()}
    frames = [decoded[n] for n in inds.tolist()]
    if short_side:
        h, w = frames[0].shape[:2]
        frames = Resize(scale=(-1, short_side))(dict(imgs=frames, img_shape=(h, w)))['imgs']
    arr = np.stack(frames)  # (T, H, W, 3) uint8
    path = osp.join(clip_dir, cache_name(clip_len, short_side))
    tmp = path + f'.tmp{os.getpid()}.npy'
    np.save(tmp, arr)
    os.replace(tmp, path)
    return path
