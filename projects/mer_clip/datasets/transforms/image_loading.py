"""Load a sample's derived images: the apex frame, the onset-to-apex flow image, or both.

The image modality of records that carry ``apex_image`` / ``flow_image`` (docs/design.md). The
result is a one-image "clip" in mmaction's 2D layout, so the stock formatting applies:

    LoadMEImage(modality='flow')             imgs = [(28, 28, 3) float32], channels = (u, v, strain)
    [MEFlip, MEImageRandomResizedCrop, ...]  flow-consistent augmentation
    FormatShape(input_format='NCHW')         (1, C, H, W)
    PackActionInputs(...)                    inputs (1, C, H, W); a batch is (N, 1, C, H, W)

which ``Recognizer2D`` (and ``MERCLIP``) read as N samples of one segment.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from mer_clip.utils.image_io import read_image, read_image_cached

from ..flow_image import FLOW_CHANNELS, FLOW_VALUES, decode_flow_image, reorder_flow_channels
from .image_geometry import INTERPOLATIONS, resize_channels, size_pair

MODALITIES = dict(apex=('apex', ), flow=('flow', ), both=('apex', 'flow'))
APEX_CHANNELS = ('r', 'g', 'b')

@TRANSFORMS.register_module()
class LoadMEImage(BaseTransform):
    """``apex_image`` / ``flow_image`` of a sample -> one (H, W, C) float32 image.

    Apex: RGB, values 0..255 (normalise with the data preprocessor's mean / std). Flow: channels
    u, v, strain, values in the ``flow_values`` scale of :mod:`mer_clip.datasets.flow_image`
    (``'unit'``: [-1, 1]; ``'raw'``: pixels, needs the record's ``flow_range``). ``'both'``
    stacks apex then flow: 6 channels r, g, b, u, v, strain.

    Args:
        modality: 'apex', 'flow' or 'both'.
        flow_channels: the flow file's channels in its RGB order. Default ('u', 'v', 'strain'), the
            order of the published MEGC2019 composite images and of tools/data/compute_flow.py.
        flow_values: 'unit' (default) or 'raw'.
        flow_size / apex_size: expected (h, w) (or int) of the files; a file of another size is an
            error naming the sample. None accepts any size.
        size: resize the image(s) to (h, w) (flow-consistent, see ``MEImageResize``); needed for
            'both' when the two files differ in size (224 apex, 28 flow). None keeps the size.
        interpolation: of that resize.
        cache: keep the decoded files in memory
            (:func:`mer_clip.utils.image_io.read_image_cached`, at most ``CACHE_MAX_BYTES`` per
            process) instead of reading and decoding them every epoch:
            for small images that a fold reads hundreds of times (the 442 flow images of the
            MEGC2019 composite: 0.7 MB), where decoding costs more than the training step. The
            size check and the decoding to float still run every time.

    Added keys: ``imgs`` ([image]), ``channels`` (names), ``modality`` ('apex', 'flow' or
    'apex+flow'; never mmaction's 'Flow', whose Flip would invert whole images), ``flow_values``,
    ``img_shape``, ``original_shape``, ``clip_len`` = ``num_clips`` = 1.
    """

    def __init__(self,
                 modality: str = 'flow',
                 flow_channels: Sequence[str] = FLOW_CHANNELS,
                 flow_values: str = 'unit',
                 flow_size: Union[int, Sequence[int], None] = None,
                 apex_size: Union[int, Sequence[int], None] = None,
                 size: Union[int, Sequence[int], None] = None,
                 interpolation: str = 'bilinear',
                 cache: bool = False) -> None:
        if modality not in MODALITIES:
            raise ValueError(f'LoadMEImage: modality must be one of {sorted(MODALITIES)}, '
                             f'got {modality!r}')
        if flow_values not in FLOW_VALUES:
            raise ValueError(f'LoadMEImage: flow_values must be one of {FLOW_VALUES}, '
                             f'got {flow_values!r}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'LoadMEImage: interpolation must be one of '
                             f'{sorted(INTERPOLATIONS)}, got {interpolation!r}')
        reorder_flow_channels(np.zeros((1, 1, 3), np.uint8), flow_channels)  # validates
        self.modality = modality
        self.flow_channels = tuple(flow_channels)
        self.flow_values = flow_values
        self.flow_size = None if flow_size is None else size_pair(flow_size)
        self.apex_size = None if apex_size is None else size_pair(apex_size)
        self.size = None if size is None else size_pair(size)
        self.interpolation = interpolation
        self.cache = cache

    def _read(self, path: str, what: str) -> np.ndarray:
        if self.cache:
            return read_image_cached(path, what)
        return read_image(path, rgb=True, what=what)

    @staticmethod
    def _path(results: dict, key: str, sample: str) -> str:
        path = results.get(key)
        if not path:
            raise KeyError(f'sample {sample}: LoadMEImage needs {key!r} in the record (the '
                           f'annotation file has no {key} for this sample)')
        return path

    @staticmethod
    def _check_size(img: np.ndarray, expected: Optional[Tuple[int, int]], sample: str,
                    what: str, path: str, option: str) -> None:
        if expected is not None and img.shape[:2] != expected:
            raise ValueError(f'sample {sample}: {what} {path} is {img.shape[0]}x{img.shape[1]} '
                             f'(h x w), expected {expected[0]}x{expected[1]} ({option}); '
                             'regenerate the image or change the option')

    def load_apex(self, results: dict, sample: str) -> np.ndarray:
        path = self._path(results, 'apex_image', sample)
        img = self._read(path, f'sample {sample}: apex ')
        self._check_size(img, self.apex_size, sample, 'apex image', path, 'apex_size')
        return img.astype(np.float32)

    def load_flow(self, results: dict, sample: str) -> np.ndarray:
        path = self._path(results, 'flow_image', sample)
        img = self._read(path, f'sample {sample}: flow ')  # file RGB
        self._check_size(img, self.flow_size, sample, 'flow image', path, 'flow_size')
        uvs = reorder_flow_channels(img, self.flow_channels)  # file RGB -> u, v, s
        ranges = None
        if self.flow_values == 'raw':
            ranges = results.get('flow_range')
            if ranges is None:
                raise KeyError(f"sample {sample}: flow_values='raw' needs the record's "
                               'flow_range (written by tools/data/compute_flow.py); the '
                               "published images have none: use flow_values='unit'")
        try:
            return decode_flow_image(uvs, self.flow_values, ranges)
        except ValueError as err:
            raise ValueError(f'sample {sample}, {path}: {err}') from err

    def transform(self, results: dict) -> dict:
        sample = str(results.get('sample_id', results.get('sample_idx', '?')))
        parts = []  # (image, its channel names)
        for part in MODALITIES[self.modality]:
            if part == 'apex':
                parts.append((self.load_apex(results, sample), APEX_CHANNELS))
            else:
                parts.append((self.load_flow(results, sample), FLOW_CHANNELS))
        original_shape = parts[0][0].shape[:2]
        if self.size is None and len({p.shape[:2] for p, _ in parts}) > 1:
            raise ValueError(f"sample {sample}: LoadMEImage(modality='both') got an apex image "
                             f'of {parts[0][0].shape[:2]} and a flow image of '
                             f'{parts[1][0].shape[:2]}; set size=(h, w) to resize both')
        if self.size is not None:
            raw = self.flow_values == 'raw'
            parts = [(resize_channels(p, self.size, names, raw, self.interpolation), names)
                     for p, names in parts]
        img = parts[0][0] if len(parts) == 1 else np.concatenate([p for p, _ in parts], axis=2)
        results['imgs'] = [img]  # one (H, W, C) float32 image
        results['channels'] = tuple(n for _, names in parts for n in names)
        results['modality'] = '+'.join(MODALITIES[self.modality])
        if 'flow' in MODALITIES[self.modality]:
            results['flow_values'] = self.flow_values
        results['original_shape'] = original_shape
        results['img_shape'] = img.shape[:2]
        results['clip_len'] = 1
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(modality={self.modality!r}, '
                f'flow_channels={self.flow_channels}, flow_values={self.flow_values!r}, '
                f'flow_size={self.flow_size}, apex_size={self.apex_size}, size={self.size}, '
                f'cache={self.cache})')
