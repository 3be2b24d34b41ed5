"""Resize and random resized crop of a sample's image (apex, flow or both), flow-consistent.

The image is ``results['imgs'][0]``, (H, W, C) float32, its channels named by
``results['channels']`` (``LoadMEImage``). Every channel goes through the same geometric map, so
u, v, strain and the apex colours stay aligned. Resampling a displacement field to another grid
also rescales the displacements: with flow values in pixels (``results['flow_values'] == 'raw'``)
``u`` is multiplied by the horizontal and ``v`` by the vertical scale factor; strain (a ratio of
displacement to distance) is unchanged. In the ``'unit'`` scale (per-image min-max normalised,
``mer_clip.datasets.flow_image``) a uniform rescaling of the flow leaves the values unchanged, so
nothing is multiplied.
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

INTERPOLATIONS = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
                      bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


def size_pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h < 1 or w < 1:
        raise ValueError(f'size must be positive, got {size}')
    return int(h), int(w)


def resize_channels(img: np.ndarray, size: Tuple[int, int], channels: Sequence[str] = (),
                    flow_in_pixels: bool = False, interpolation: str = 'bilinear') -> np.ndarray:
    """(H, W, C) float32 -> (h, w, C); with ``flow_in_pixels``, u *= w / W and v *= h / H."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {sorted(INTERPOLATIONS)}, '
                         f'got {interpolation!r}')
    h, w = size
    old_h, old_w = img.shape[:2]
    if (h, w) == (old_h, old_w):
        return img
    # cv2.resize takes any number of channels (it drops the axis of a single one: reshape)
    out = cv2.resize(img, (w, h), interpolation=INTERPOLATIONS[interpolation])
    out = out.reshape(h, w, img.shape[2]).astype(np.float32, copy=False)
    if flow_in_pixels:
        channels = list(channels)
        if 'u' in channels:
            out[..., channels.index('u')] *= w / old_w
        if 'v' in channels:
            out[..., channels.index('v')] *= h / old_h
    return out


def _image_of(results: dict, who: str) -> np.ndarray:
    imgs = results.get('imgs')
    where = f"sample {results.get('sample_id', results.get('sample_idx', '?'))}"
    if not imgs or len(imgs) != 1 or 'channels' not in results:
        raise ValueError(f"{who}: {where} needs one image in results['imgs'] with "
                         "results['channels'] (put LoadMEImage before it)")
    return imgs[0]


def _store(results: dict, img: np.ndarray) -> dict:
    results['imgs'] = [img]
    results['img_shape'] = img.shape[:2]
    return results


@TRANSFORMS.register_module()
class MEImageResize(BaseTransform):
    """Resize the sample's image to ``size`` (int or (h, w)), flow-consistent (module doc)."""

    def __init__(self, size: Union[int, Sequence[int]], interpolation: str = 'bilinear') -> None:
        self.size = size_pair(size)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of {sorted(INTERPOLATIONS)}, '
                             f'got {interpolation!r}')
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = _image_of(results, 'MEImageResize')
        img = resize_channels(img, self.size, results['channels'],
                              results.get('flow_values') == 'raw', self.interpolation)
        return _store(results, img)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size}, interpolation={self.interpolation!r})'


@TRANSFORMS.register_module()
class MEImageRandomResizedCrop(BaseTransform):
    """Crop a random box and resize it back to the input size: a small zoom and shift.

    The box covers a fraction of the image area drawn uniformly in ``area_range`` with an aspect
    ratio drawn log-uniformly in ``aspect_ratio_range`` (as torchvision's RandomResizedCrop); one
    box per sample, applied to every channel (module doc). Randomness: numpy's global RNG (seeded
    by mmengine). Sets ``results['crop_box']`` = (x, y, w, h), or None when not applied.

    Args:
        area_range: fraction of the area kept. Default (0.8, 1.0).
        aspect_ratio_range: width / height of the box. Default (3/4, 4/3).
        prob: probability of cropping a sample. Default 1.0.
        interpolation: of the resize back. Default 'bilinear'.
    """

    def __init__(self, area_range: Sequence[float] = (0.8, 1.0),
                 aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3), prob: float = 1.0,
                 interpolation: str = 'bilinear') -> None:
        lo, hi = area_range
        if not 0 < lo <= hi <= 1:
            raise ValueError(f'area_range must satisfy 0 < lo <= hi <= 1, got {area_range}')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError(f'bad aspect_ratio_range {aspect_ratio_range}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of {sorted(INTERPOLATIONS)}, '
                             f'got {interpolation!r}')
        self.area_range = (float(lo), float(hi))
        self.aspect_ratio_range = tuple(float(r) for r in aspect_ratio_range)
        self.prob = prob
        self.interpolation = interpolation

    def sample_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """(x, y, w, h) of a random box inside a height x width image."""
        area = np.random.uniform(*self.area_range) * height * width
        log_lo, log_hi = np.log(self.aspect_ratio_range)
        ratio = float(np.exp(np.random.uniform(log_lo, log_hi)))
        w = int(np.clip(round(np.sqrt(area * ratio)), 1, width))
        h = int(np.clip(round(np.sqrt(area / ratio)), 1, height))
        x = int(np.random.randint(0, width - w + 1))
        y = int(np.random.randint(0, height - h + 1))
        return x, y, w, h

    def transform(self, results: dict) -> dict:
        img = _image_of(results, 'MEImageRandomResizedCrop')
        if np.random.rand() >= self.prob:
            results['crop_box'] = None
            return results
        height, width = img.shape[:2]
        x, y, w, h = self.sample_box(height, width)
        crop = np.ascontiguousarray(img[y:y + h, x:x + w])
        out = resize_channels(crop, (height, width), results['channels'],
                              results.get('flow_values') == 'raw', self.interpolation)
        results['crop_box'] = (x, y, w, h)
        return _store(results, out)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, prob={self.prob})')
