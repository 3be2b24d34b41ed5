"""The flow-image file format: onset-to-apex optical flow stored as an 8-bit 3-channel image.

This is the format of the derived MEGC2019 composite images (STSTNet, HTNet) and of
``tools/data/compute_flow.py``:

- channels, in the file's **RGB** order: horizontal flow ``u``, vertical flow ``v``, optical strain
  (what OpenCV, which returns BGR, reads as strain, v, u). On the published composite images this
  order is an inference, checked in ``tests/datasets/test_megc2019_published_images.py``: the third
  RGB channel is the non-negative, magnitude-like one, and optical strain recomputed from the first
  two as (u, v) fits it better than as (v, u) on 366 of the 442 images;
- each channel normalised on its own, per image, min -> 0 and max -> 255 (rounded). The published
  images are exactly that (every channel of every image spans 0..255); their raw ranges are lost.
  The tool keeps them (``flow_range`` in the record: ``{"u": [min, max], ...}``, u / v in pixels of
  the stored image grid, strain dimensionless), so only the 8-bit quantisation is lost.

Reading (:func:`decode_flow_image`) gives float32 values in one of two scales:

- ``'unit'``: ``x / 127.5 - 1`` in [-1, 1]. Because min-max normalisation maps ``-u`` to
  ``255 - x``, a sign change of the flow is an exact negation in this scale whatever the unknown
  range was: a horizontal flip negates ``u`` (``MEFlip``). The level of zero motion is unknown.
- ``'raw'``: the values before normalisation, from ``flow_range`` (pixels; zero is no motion).
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

#: canonical channel order of a flow image in memory (and in the file's RGB order)
FLOW_CHANNELS = ('u', 'v', 'strain')
FLOW_VALUES = ('unit', 'raw')


def encode_flow_image(flow: np.ndarray) -> Tuple[np.ndarray, Dict[str, list]]:
    """(H, W, 3) float (u, v, strain) -> ((H, W, 3) uint8, ``{'u': [min, max], ...}``).

    Each channel is min-max normalised to 0..255 on its own; a constant channel is written as 0
    (its range [c, c] still restores it).
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 3:
        raise ValueError(f'encode_flow_image: expected (H, W, 3) u, v, strain, got {flow.shape}')
    if not np.isfinite(flow).all():
        raise ValueError('encode_flow_image: the flow has NaN or infinite values')
    out = np.zeros(flow.shape, dtype=np.uint8)
    ranges = {}
    for c, name in enumerate(FLOW_CHANNELS):
        lo, hi = float(flow[..., c].min()), float(flow[..., c].max())
        ranges[name] = [lo, hi]
        if hi > lo:
            out[..., c] = np.rint((flow[..., c] - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return out, ranges


def decode_flow_image(img: np.ndarray, values: str = 'unit',
                      ranges: Optional[Dict[str, Sequence[float]]] = None) -> np.ndarray:
    """(H, W, 3) uint8 (u, v, strain) -> (H, W, 3) float32 in the ``values`` scale (module doc)."""
    if values not in FLOW_VALUES:
        raise ValueError(f'flow values must be one of {FLOW_VALUES}, got {values!r}')
    x = np.ascontiguousarray(img, dtype=np.float32)  # (a channel-reordered view is not)
    if values == 'unit':
        return x / 127.5 - 1.0
    if not isinstance(ranges, dict) or set(ranges) != set(FLOW_CHANNELS):
        raise ValueError(f"flow values 'raw' need the image's flow_range "
                         f'{{"u": [min, max], "v": ..., "strain": ...}}, got {ranges!r}')
    for c, name in enumerate(FLOW_CHANNELS):
        lo, hi = (float(v) for v in ranges[name])
        x[..., c] = lo + x[..., c] * np.float32((hi - lo) / 255.0)
    return x


def write_flow_image(path: str, img: np.ndarray) -> None:
    """Write a (H, W, 3) uint8 (u, v, strain) image as PNG with RGB = (u, v, strain)."""
    if not cv2.imwrite(path, np.ascontiguousarray(img[..., ::-1])):  # OpenCV writes BGR
        raise OSError(f'cannot write flow image {path}')


def reorder_flow_channels(img_rgb: np.ndarray, file_channels: Sequence[str]) -> np.ndarray:
    """Channels of a decoded RGB image named by ``file_channels`` -> canonical (u, v, strain)."""
    file_channels = tuple(file_channels)
    if sorted(file_channels) != sorted(FLOW_CHANNELS):
        raise ValueError(f'flow_channels must name each of {FLOW_CHANNELS} once (the file\'s '
                         f'channels in RGB order), got {file_channels}')
    return img_rgb[..., [file_channels.index(name) for name in FLOW_CHANNELS]]
