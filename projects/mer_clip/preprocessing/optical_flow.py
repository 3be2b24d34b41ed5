"""Onset-to-apex optical flow and optical strain of a clip, stored as a flow image.

The input of STSTNet, OFF-ApexNet and most MEGC2019 baselines: the dense optical flow (u, v) from
the onset frame to the apex frame, and the optical strain, the magnitude of the infinitesimal strain
tensor of that displacement field::

    strain = sqrt(u_x^2 + v_y^2 + 2 * ((u_y + v_x) / 2)^2)      (central differences, pixels)

Flow: TV-L1 (Zach et al. 2007; OpenCV's ``cv2.optflow.DualTVL1OpticalFlow``, in
opencv-contrib-python, with OpenCV's default parameters) where available, Farneback
(``cv2.calcOpticalFlowFarneback``, in every OpenCV build) otherwise; ``method='auto'`` picks, and
every result says which one ran. The flow and the strain are computed on the full aligned face crop,
then resampled to the stored size (area averaging), with u and v rescaled to pixels of the stored
grid (strain is a ratio and keeps its value), then written in the flow-image format of
:mod:`mer_clip.datasets.flow_image` (per-channel min-max to 0..255, ranges kept).
"""
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from mer_clip.datasets.flow_image import encode_flow_image

FLOW_METHODS = ('auto', 'tvl1', 'farneback')
# Farneback settings of OpenCV's own sample (samples/python/opt_flow.py)
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2,
                 flags=0)


def has_tvl1() -> bool:
    """Whether this OpenCV build has TV-L1 (``cv2.optflow``, from opencv-contrib-python)."""
    return hasattr(cv2, 'optflow') and hasattr(cv2.optflow, 'DualTVL1OpticalFlow_create')


def resolve_method(method: str = 'auto') -> str:
    """'auto' -> 'tvl1' when available, else 'farneback'; 'tvl1' without contrib is an error."""
    if method not in FLOW_METHODS:
        raise ValueError(f'flow method must be one of {FLOW_METHODS}, got {method!r}')
    if method == 'auto':
        return 'tvl1' if has_tvl1() else 'farneback'
    if method == 'tvl1' and not has_tvl1():
        raise RuntimeError(
            f'TV-L1 needs cv2.optflow (opencv-contrib-python); this cv2 {cv2.__version__} has '
            'none. Both opencv-python and opencv-contrib-python install the same cv2 module and '
            'the last one installed wins: `pip install --force-reinstall --no-deps '
            'opencv-contrib-python`, or use --method farneback.')
    return method


def _grey(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return img


def compute_flow(onset: np.ndarray, apex: np.ndarray, method: str = 'auto'
                 ) -> Tuple[np.ndarray, str]:
    """Dense flow from ``onset`` to ``apex`` (grey or BGR, same size) -> ((H, W, 2), method).

    ``flow[y, x] = (u, v)`` (float32): the point at (x, y) in the onset frame is at (x + u, y + v)
    in the apex frame.
    """
    if onset.shape != apex.shape:
        raise ValueError(f'onset and apex frames differ in size: {onset.shape} vs {apex.shape}')
    method = resolve_method(method)
    prev, nxt = _grey(onset), _grey(apex)
    if method == 'tvl1':
        flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(prev, nxt, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(prev, nxt, None, **FARNEBACK)
    return flow.astype(np.float32), method


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """(H, W, 2) flow -> (H, W) optical strain magnitude (module docstring), float32."""
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    u_y, u_x = np.gradient(u)  # axis 0 is y
    v_y, v_x = np.gradient(v)
    return np.sqrt(u_x ** 2 + v_y ** 2 + 0.5 * (u_y + v_x) ** 2).astype(np.float32)


@dataclass
class FlowImage:
    """A computed flow image: ``image`` (h, w, 3) uint8 u, v, strain; ``ranges`` before the 0..255
    normalisation (u, v in pixels of the (h, w) grid); ``method`` that ran; ``source_size``."""
    image: np.ndarray
    ranges: Dict[str, list]
    method: str
    source_size: Tuple[int, int]


def flow_field(onset: np.ndarray, apex: np.ndarray, size: Sequence[int] = (28, 28),
               method: str = 'auto') -> Tuple[np.ndarray, str]:
    """(h, w, 3) float32 u, v (pixels of the (h, w) grid) and strain, and the method that ran."""
    flow, method = compute_flow(onset, apex, method)
    strain = optical_strain(flow)
    height, width = flow.shape[:2]
    h, w = int(size[0]), int(size[1])
    field = np.dstack([flow, strain[..., None]])  # (H, W, 3)
    if (h, w) != (height, width):
        field = cv2.resize(field, (w, h), interpolation=cv2.INTER_AREA)
        field[..., 0] *= w / width
        field[..., 1] *= h / height
    return field.astype(np.float32), method


def flow_image(onset: np.ndarray, apex: np.ndarray, size: Sequence[int] = (28, 28),
               method: str = 'auto') -> FlowImage:
    """Onset-apex flow and strain of two frames as a stored flow image (module docstring)."""
    field, method = flow_field(onset, apex, size, method)
    image, ranges = encode_flow_image(field)
    return FlowImage(image=image, ranges=ranges, method=method,
                     source_size=tuple(int(s) for s in onset.shape[:2]))
