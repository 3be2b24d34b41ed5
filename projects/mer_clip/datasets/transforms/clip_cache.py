"""Load a prepared clip cache: the sampled frames of a clip as one (T, H, W, 3) uint8 ``.npy``.

``tools/data/prepare_dataset.py --cache`` writes, per clip, the frames that :class:`MESampleFrames`
would pick (decoded from the prepared JPEGs, so the pixels are the same) and adds ``clip_cache`` to
the record. Reading one array replaces sampling + decoding 16 JPEGs per clip per epoch, and a whole
dataset fits in RAM (SAMM: 159 clips x 16 x 224 x 224 x 3 B = 0.38 GB).

Use it in place of ``MESampleFrames`` + ``LoadMEFrames``; the rest of the pipeline is unchanged::

    dict(type='LoadClipCache', clip_len=16),   # instead of MESampleFrames, LoadMEFrames
    dict(type='Resize', scale=(-1, 256)), dict(type='CenterCrop', crop_size=224), ...
"""
from collections import OrderedDict
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from .loading import set_frames
from .sampling import MESampleFrames


@TRANSFORMS.register_module()
class LoadClipCache(BaseTransform):
    """Read ``clip_cache`` and set the keys that MESampleFrames and LoadMEFrames would set.

    Required keys: ``clip_cache`` (path, joined with ``data_prefix['img']`` by the dataset),
    ``onset``, ``apex`` (may be None), ``offset``.
    Added keys: ``imgs`` (list of HxWx3 uint8 RGB, writable copies), ``img_shape``,
    ``original_shape``, ``frame_inds`` (np.int64 frame numbers), ``clip_len``, ``num_clips`` (1),
    ``frame_interval`` (None), ``onset_index``, ``apex_index``.

    Args:
        clip_len: frames per clip; must equal the T the cache was written with.
        cache_size: arrays kept in RAM per process: 0 = none (memory-mapped reads, the OS page cache
            does the rest), -1 = all (a whole dataset), N = the N most recently used.
    """

    def __init__(self, clip_len: int = 16, cache_size: int = 0) -> None:
        self.clip_len = clip_len
        self.cache_size = cache_size
        self._sampler = MESampleFrames(clip_len)
        self._ram: 'OrderedDict[str, np.ndarray]' = OrderedDict()

    def _read(self, path: str, name: str) -> np.ndarray:
        if path in self._ram:
            self._ram.move_to_end(path)
            return self._ram[path]
        try:
            arr = np.load(path, mmap_mode='r' if self.cache_size == 0 else None)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'sample {name}: clip cache not found at {path}; re-run tools/data/'
                'prepare_dataset.py with --cache (and the same --clip-len), or drop LoadClipCache '
                'from the pipeline') from e
        except ValueError as e:
            raise ValueError(f'sample {name}: {path} is not a readable .npy clip cache ({e}); '
                             'delete it and re-run prepare_dataset.py --cache') from e
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
            raise ValueError(f'sample {name}: {path} holds {arr.dtype} {arr.shape}, expected uint8 '
                             '(T, H, W, 3)')
        if self.cache_size != 0:
            self._ram[path] = arr
            if 0 < self.cache_size < len(self._ram):
                self._ram.popitem(last=False)
        return arr

    def transform(self, results: Dict) -> Dict:
        name = str(results.get('sample_id', results['clip_cache']))
        arr = self._read(results['clip_cache'], name)
        if arr.shape[0] != self.clip_len:
            raise ValueError(f'sample {name}: {results["clip_cache"]} has {arr.shape[0]} frames '
                             f'but clip_len={self.clip_len}; prepare the cache with --clip-len '
                             f'{self.clip_len} or change clip_len')
        # frame_inds, clip_len, num_clips, frame_interval, onset_index, apex_index: exactly the
        # sampler's keys (the cache holds the frames it picks)
        results = self._sampler.transform(results)
        clip = np.array(arr)  # one writable copy: later transforms may flip in place
        return set_frames(results, list(clip))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len}, cache_size={self.cache_size})'
