"""Anti-aliased drawing in face-canvas units, and the curve and colour helpers the face uses.

Face-canvas units: [0, 1] across the image, whatever its size, so one face description draws at
any resolution. Shapes are drawn on a supersampled image (OpenCV fixed-point coordinates, 4
fractional bits) that the caller shrinks to the frame size.
"""
from typing import Dict, Optional

import cv2
import numpy as np

_BASIS: Dict[int, np.ndarray] = {}
_CATMULL_ROM = 0.5 * np.array([[0, 2, 0, 0], [-1, 0, 1, 0], [2, -5, 4, -1], [-1, 3, -3, 1]])


def catmull_rom(points: np.ndarray, n: int = 6) -> np.ndarray:
    """Smooth curve through ``points`` (K, 2) with Catmull-Rom splines, n samples per segment."""
    points = np.asarray(points, float)
    p = np.concatenate([points[:1], points, points[-1:]])  # (K+2, 2)
    k = len(points) - 1
    ctrl = np.stack([p[i:i + k] for i in range(4)], 1)  # (K-1, 4, 2) p0..p3 per segment
    basis = _BASIS.get(n)
    if basis is None:
        t = np.linspace(0, 1, n, endpoint=False)
        basis = _BASIS[n] = np.stack([np.ones_like(t), t, t**2, t**3], 1) @ _CATMULL_ROM  # (n, 4)
    curve = np.einsum('nj,sjd->snd', basis, ctrl).reshape(-1, 2)  # (K-1, n, 2) -> ((K-1) n, 2)
    return np.concatenate([curve, points[-1:]])


def mix(color: np.ndarray, other: np.ndarray, alpha: float) -> Optional[np.ndarray]:
    """Blend two colours; ``None`` (nothing to draw) when ``alpha`` is zero."""
    alpha = min(max(float(alpha), 0.0), 1.0)
    if alpha <= 0.0:
        return None
    return color * (1 - alpha) + other * alpha


class Canvas:
    """Draws polygons, polylines and ellipses given in face-canvas units onto ``img`` (in place).

    A colour of ``None`` (e.g. a wrinkle at zero strength, see :func:`mix`) draws nothing.
    """

    SHIFT = 4  # fractional bits of OpenCV's fixed-point coordinates

    def __init__(self, img: np.ndarray):
        self.img = img
        self.scale = img.shape[1] * (1 << self.SHIFT)
        self.px = img.shape[1]

    def _pts(self, pts):
        return np.round(np.asarray(pts) * self.scale).astype(np.int32)

    def poly(self, pts, color):
        cv2.fillPoly(self.img, [self._pts(pts)], color.tolist(), cv2.LINE_AA, self.SHIFT)

    def line(self, pts, color, thick):
        if color is None:
            return
        th = max(1, int(round(thick * self.px)))
        cv2.polylines(self.img, [self._pts(pts)], False, color.tolist(), th, cv2.LINE_AA,
                      self.SHIFT)

    def ellipse(self, center, axes, color, angle=0.0):
        if color is None:
            return
        c = tuple(int(v) for v in self._pts(center))
        ax = tuple(max(1, int(v)) for v in self._pts(axes))
        cv2.ellipse(self.img, c, ax, angle, 0, 360, color.tolist(), -1, cv2.LINE_AA, self.SHIFT)
