"""Synthetic micro-expression dataset: rendered faces with subtle, localized AU-driven movements.

The real ME datasets are licensed and cannot ship with the code, so demos, tests and the README's
main job run on this generator instead. It draws cartoon faces of several subjects (face shape, skin
tone, hair line, eye / brow / nose / mouth placement and sizes differ per subject) and animates each
clip as a micro-expression: a neutral onset, a movement of a few pixels (at 64x64) where the clip's
action units act on a face, rising smoothly to an apex and returning by the offset. Nuisance motion
makes it not trivially separable: blinks at random times, sub-pixel head jitter and drift, slight
illumination drift and sensor noise, and weak clips whose movement is close to the noise.

Emotions and their AUs follow the statistics of the real datasets: for each raw emotion an AU
combination is drawn from ``synthetic_au_stats.json`` (written by ``tools/data/au_emotion_stats.py``
from the MER-CLIP authors' lists of SAMM, CASME II, CAS(ME)^3 and DFME), projected onto the AUs
drawn here (:data:`RENDERED_AUS`). Hence the classes overlap the way real ones do (AU4 in most
negative emotions and in some surprise, AU12 in happiness and in contempt, ...). The raw emotions
map to three classes with the ``synthetic_3`` class scheme (negative / positive / surprise).

Everything is a pure function of the seed: each subject's identity and each clip draw from their own
``numpy.random.Generator`` (seeded by ``(seed, subject, clip)``), so the output is the same for any
number of workers.

Sides follow FACS: ``L``/``R`` are the *subject's* left/right, i.e. the right/left half of the
image."""
import json
import math
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mer_clip.au.codes import AUCode, format_au_list, parse_au_string, sort_codes

from .annotation import dump_annotations, make_record
from .class_schemes import CLASS_SCHEMES, NEGATIVE, normalize_emotion

GENERATOR_VERSION = '1.0'
STATS_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'synthetic_au_stats.json')

#: AUs the renderer moves, and where (FACS names; the movement is described in :func:`_geometry`).
RENDERED_AUS = {
    1: 'Inner Brow Raiser', 2: 'Outer Brow Raiser', 4: 'Brow Lowerer', 5: 'Upper Lid Raiser',
    6: 'Cheek Raiser', 7: 'Lid Tightener', 9: 'Nose Wrinkler', 10: 'Upper Lip Raiser',
    12: 'Lip Corner Puller', 14: 'Dimpler', 15: 'Lip Corner Depressor', 16: 'Lower Lip Depressor',
    17: 'Chin Raiser', 20: 'Lip Stretcher', 23: 'Lip Tightener', 24: 'Lip Presser', 25: 'Lips Part',
    26: 'Jaw Drop', 38: 'Nostril Dilator', 43: 'Eyes Closed',
}

#: The raw emotions of the synthetic set (all map into ``synthetic_3``).
EMOTIONS = ('anger', 'contempt', 'disgust', 'fear', 'repression', 'sadness', 'happiness',
            'surprise')

#: Default class mix of the 3-class task (negative emotions share theirs equally).
DEFAULT_CLASS_MIX = {'negative': 0.45, 'positive': 0.30, 'surprise': 0.25}

PX = 1.0 / 64  # one pixel of a 64x64 image, in face-canvas units ([0, 1] across the image)

# --------------------------------------------------------------------------------------------------
# AU codes and statistics

def load_au_stats(path: str = STATS_FILE) -> Dict[str, List[Tuple[List[AUCode], float]]]:
    """Emotion -> [(AU combination, probability)] projected onto :data:`RENDERED_AUS`.

    AUs the renderer cannot draw are removed from each combination; combinations left empty are
    dropped and equal ones merged, then the weights are renormalised.
    """
    with open(path, encoding='utf-8') as f:
        table = json.load(f)
    out: Dict[str, List[Tuple[List[AUCode], float]]] = {}
    for emotion in EMOTIONS:
        if emotion not in table['emotions']:
            raise KeyError(f'{path} has no statistics for emotion {emotion!r}; regenerate it with '
                           'tools/data/au_emotion_stats.py')
        merged: Dict[Tuple[AUCode, ...], float] = {}
        for i, combo in enumerate(table['emotions'][emotion]['combinations']):
            codes = parse_au_string(combo['aus'], where=f'{path}: {emotion} combination {i}')
            codes = tuple(sort_codes(c for c in codes if c.au in RENDERED_AUS))
            if codes:
                merged[codes] = merged.get(codes, 0.0) + float(combo['count'])
        total = sum(merged.values())
        out[emotion] = [(list(k), v / total) for k, v in merged.items()]
    return out


# --------------------------------------------------------------------------------------------------
# identities

@dataclass
class Identity:
    """Static appearance of one subject (face-canvas units, colours BGR in [0, 255])."""
    bg: np.ndarray
    skin: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    cx: float
    cy: float
    face_a: float  # half width of the face ellipse
    face_b: float  # half height
    hairline: float  # y of the hair line at the centre
    fringe: float  # curvature of the hair line
    eye_y: float
    eye_dx: float  # half distance between the eye centres
    eye_w: float  # half width of an eye
    eye_h: float  # upper lid height of the open eye
    iris_r: float
    brow_gap: float  # brow above the upper lid
    brow_thick: float
    brow_arch: float
    nose_y: float
    nose_w: float
    mouth_y: float
    mouth_w: float  # half width
    upper_lip: float
    lower_lip: float
    shading_seed: int = 0


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a subject: face shape, skin tone, hair, feature placement and sizes."""
    u = rng.uniform
    tone = u(0, 1)
    light, dark = np.array([185., 205., 240.]), np.array([60., 90., 140.])
    skin = light * (1 - tone) + dark * tone + rng.normal(0, 6, 3)
    hair_choices = np.array([[25, 25, 30], [30, 50, 80], [60, 110, 160], [140, 140, 145],
                             [20, 35, 60]], float)
    hair = hair_choices[rng.integers(len(hair_choices))] + rng.normal(0, 5, 3)
    lips = skin * np.array([0.55, 0.50, 0.85]) + np.array([0, 0, 15])
    grey = u(80, 180)
    bg = np.full(3, grey) + rng.normal(0, 12, 3)
    iris = np.array([[40, 60, 90], [90, 70, 40], [50, 90, 60], [30, 35, 50]], float)[
        rng.integers(4)]
    cx, cy = 0.5 + u(-0.02, 0.02), 0.53 + u(-0.02, 0.02)
    a, b = u(0.29, 0.36), u(0.39, 0.45)
    eye_y = cy - b * u(0.10, 0.20)
    eye_w = a * u(0.16, 0.21)
    eye_h = eye_w * u(0.34, 0.48)
    return Identity(
        bg=bg, skin=skin, hair=hair, lips=lips, iris=iris, cx=cx, cy=cy, face_a=a, face_b=b,
        hairline=cy - b * u(0.55, 0.75), fringe=u(-0.03, 0.04), eye_y=eye_y,
        eye_dx=a * u(0.40, 0.50), eye_w=eye_w, eye_h=eye_h, iris_r=eye_h * u(0.80, 0.95),
        brow_gap=u(0.035, 0.06), brow_thick=u(0.011, 0.02), brow_arch=u(0.006, 0.02),
        nose_y=cy + b * u(0.14, 0.24), nose_w=a * u(0.17, 0.24), mouth_y=cy + b * u(0.45, 0.55),
        mouth_w=a * u(0.27, 0.36), upper_lip=u(0.010, 0.017), lower_lip=u(0.014, 0.024),
        shading_seed=int(rng.integers(2**31)))


# --------------------------------------------------------------------------------------------------
# geometry: identity + AU activations -> feature points

# activations: AU -> np.array([image-left side (subject's R), image-right side (subject's L)])
Acts = Dict[int, np.ndarray]
_ZERO = np.zeros(2)


def activations(codes: Sequence[AUCode], amplitudes: Dict[AUCode, float], level: float) -> Acts:
    """Per-side activation of each AU at temporal level ``level`` (0 = neutral, 1 = apex)."""
    acts: Acts = {}
    for code in codes:
        v = np.zeros(2)
        v[{None: [0, 1], 'R': [0], 'L': [1]}[code.side]] = amplitudes[code] * level
        acts[code.au] = acts.get(code.au, _ZERO) + v
    return acts


_BASIS: Dict[int, np.ndarray] = {}
_CR = 0.5 * np.array([[0, 2, 0, 0], [-1, 0, 1, 0], [2, -5, 4, -1], [-1, 3, -3, 1]])


def _catmull(points: np.ndarray, n: int = 6) -> np.ndarray:
    """Smooth curve through ``points`` (K, 2) with Catmull-Rom splines, n samples per segment."""
    points = np.asarray(points, float)
    p = np.concatenate([points[:1], points, points[-1:]])  # (K+2, 2)
    k = len(points) - 1
    ctrl = np.stack([p[i:i + k] for i in range(4)], 1)  # (K-1, 4, 2) p0..p3 per segment
    basis = _BASIS.get(n)
    if basis is None:
        t = np.linspace(0, 1, n, endpoint=False)
        basis = _BASIS[n] = np.stack([np.ones_like(t), t, t**2, t**3], 1) @ _CR  # (n, 4)
    curve = np.einsum('nj,sjd->snd', basis, ctrl).reshape(-1, 2)
    return np.concatenate([curve, points[-1:]])


class _Canvas:
    """Anti-aliased drawing in face-canvas units on a supersampled image."""

    SHIFT = 4

    def __init__(self, img: np.ndarray):
        self.img = img
        self.scale = img.shape[1] * (1 << self.SHIFT)
        self.px = img.shape[1]

    def _pts(self, pts):
        return np.round(np.asarray(pts) * self.scale).astype(np.int32)

    def poly(self, pts, color):
        cv2.fillPoly(self.img, [self._pts(pts)], color.tolist(), cv2.LINE_AA, self.SHIFT)

    def line(self, pts, color, thick):
        if color is None:  # a wrinkle at zero strength
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


def _mix(color, other, alpha):
    """Blend two colours; ``None`` (nothing to draw) when ``alpha`` is zero."""
    alpha = min(max(float(alpha), 0.0), 1.0)
    if alpha <= 0.0:
        return None
    return color * (1 - alpha) + other * alpha


_COS72, _SIN72 = np.cos(np.linspace(0, 2 * np.pi, 72, endpoint=False)), np.sin(
    np.linspace(0, 2 * np.pi, 72, endpoint=False))
_COS_ARC, _SIN_ARC = np.cos(np.linspace(0, -np.pi, 24)), np.sin(np.linspace(0, -np.pi, 24))
_XS13 = np.linspace(-1, 1, 13)
_BROW_K = np.linspace(-1.15, 1.2, 7)


def _draw_face(cv: _Canvas, ident: Identity, acts: Acts, closure: np.ndarray):
    """Draw the face at one instant. ``closure`` (2,) is the eyelid closure of a blink (0..1)."""
    A = lambda au: acts.get(au, _ZERO)  # noqa: E731
    a1, a2, a4, a5, a6, a7, a9, a10 = (A(k) for k in (1, 2, 4, 5, 6, 7, 9, 10))
    a12, a14, a15, a16, a17, a20 = (A(k) for k in (12, 14, 15, 16, 17, 20))
    a23, a24, a25, a26, a38, a43 = (A(k) for k in (23, 24, 25, 26, 38, 43))
    skin, dark = ident.skin, ident.skin * 0.45
    cx = ident.cx

    # face outline; the jaw drop (AU26) lowers the chin
    ox, oy = cx + ident.face_a * _COS72, ident.cy + ident.face_b * _SIN72
    low = np.clip((oy - ident.cy) / ident.face_b, 0, 1)**2
    oy = oy + 2.5 * PX * a26.mean() * low
    cv.poly(np.stack([ox, oy], 1), skin)
    # hair: the part of the head above the hair line
    hx = np.linspace(cx - ident.face_a * 1.05, cx + ident.face_a * 1.05, 24)
    hy = ident.hairline + ident.fringe * (1 - ((hx - cx) / ident.face_a)**2)
    # back over the top of the hair volume (see _static_layers)
    top = np.stack([cx + ident.face_a * 1.08 * _COS_ARC,
                    ident.cy - ident.face_b * 0.25 + ident.face_b * 0.85 * _SIN_ARC], 1)
    hair_poly = np.concatenate([np.stack([hx, hy], 1), top])
    cv.poly(hair_poly, ident.hair)

    for s, sx in ((0, -1.0), (1, 1.0)):  # s: image side (0 = subject's right)
        ex, ey = cx + sx * ident.eye_dx, ident.eye_y
        w, h = ident.eye_w, ident.eye_h
        # ---- eye: AU5 raises the upper lid, AU7 / AU6 narrow from below, AU43 / blink close it
        close = float(np.clip(max(a43[s], closure[s]), 0, 1))
        hu = h * (1 + 0.45 * a5[s] - 0.20 * a7[s] - 0.10 * a6[s]) * (1 - close) + 0.05 * h
        hl = h * 0.65 * (1 - 0.35 * a7[s] - 0.30 * a6[s]) * (1 - 0.3 * close) + 0.05 * h
        xs = _XS13
        upper = np.stack([ex + xs * w, ey - hu * (1 - xs**2) - 0.1 * h * (1 - xs**2) * xs * sx], 1)
        lower = np.stack([ex + xs * w, ey + hl * (1 - xs**2)], 1)
        cv.poly(np.concatenate([upper, lower[::-1]]), np.array([235., 238., 240.]))
        cv.ellipse((ex, ey - 0.1 * h), (ident.iris_r, ident.iris_r), ident.iris)
        cv.ellipse((ex, ey - 0.1 * h), (ident.iris_r * 0.45, ident.iris_r * 0.45),
                   np.array([15., 15., 15.]))
        box_top, box_bot = ey - 2.2 * h, ey + 1.6 * h
        cv.poly(np.concatenate([upper, [[ex + 1.3 * w, ey], [ex + 1.3 * w, box_top],
                                        [ex - 1.3 * w, box_top], [ex - 1.3 * w, ey]]]), skin)
        cv.poly(np.concatenate([lower, [[ex + 1.3 * w, ey], [ex + 1.3 * w, box_bot],
                                        [ex - 1.3 * w, box_bot], [ex - 1.3 * w, ey]]]), skin)
        cv.line(upper, ident.hair * 0.5, 1.2 * PX)
        cv.line(lower[2:-2], _mix(skin, dark, 0.5), 0.6 * PX)
        crease = upper.copy()
        crease[:, 1] -= 0.45 * h * (1 + 0.4 * a5[s]) * (1 - 0.5 * close)
        cv.line(crease[2:-2], _mix(skin, dark, 0.35), 0.6 * PX)
        # AU6: cheek raised (infraorbital furrow moves up), crow's feet; AU7 adds lid tension lines
        fy = ey + hl + 0.35 * h - 2.0 * PX * a6[s] - 0.6 * PX * a7[s]
        cv.line(np.stack([ex + xs[3:10] * w * 0.9, fy + 0.25 * h * (1 - xs[3:10]**2)], 1),
                _mix(skin, dark, 0.18 + 0.45 * a6[s] + 0.15 * a7[s]), 0.6 * PX)
        if a6[s] + 0.5 * a7[s] > 0.05:
            alpha = 0.6 * (a6[s] + 0.5 * a7[s])
            for k in (-1, 0, 1):
                x0 = ex + sx * (w * 1.15)
                cv.line([[x0, ey + k * 0.35 * h], [x0 + sx * 0.03, ey + k * 0.7 * h]],
                        _mix(skin, dark, alpha), 0.6 * PX)
        cheek_y = ey + 2.6 * h - 2.0 * PX * a6[s]
        cv.ellipse((ex + sx * 0.2 * w, cheek_y), (0.9 * w, 0.55 * h * 1.4),
                   _mix(skin, np.array([90., 110., 230.]), 0.10 + 0.12 * a6[s]))

        # ---- brow: AU1 raises the inner part, AU2 the outer part, AU4 lowers and draws it in
        k = _BROW_K
        w_out = (k + 1.15) / 2.35
        w_in = 1 - w_out
        bx = ex + sx * k * w - sx * 1.2 * PX * a4[s] * w_in
        by = (ey - h - ident.brow_gap - ident.brow_arch * (1 - (k / 1.2)**2) -
              2.6 * PX * a1[s] * w_in**1.5 - 2.6 * PX * a2[s] * w_out**1.5 +
              1.8 * PX * a4[s] * (0.4 + 0.6 * w_in) + 0.5 * PX * a9[s] * w_in)
        cv.line(np.stack([bx, by], 1), ident.hair * 0.8, ident.brow_thick)
        # forehead lines: AU1 in the middle, AU2 at the sides
        for row in (1, 2):
            fy0 = ey - h - ident.brow_gap - 0.035 * row - 1.5 * PX * (a1[s] + a2[s])
            if fy0 > ident.hairline + ident.fringe + 0.01:
                cv.line([[cx + sx * 0.01, fy0], [cx + sx * 0.07, fy0 - 0.004]],
                        _mix(skin, dark, 0.5 * a1[s]), 0.5 * PX)
                cv.line([[ex, fy0 - 0.004], [ex + sx * w * 1.1, fy0 + 0.004]],
                        _mix(skin, dark, 0.5 * a2[s]), 0.5 * PX)
        # glabella furrow (AU4)
        cv.line([[cx + sx * 0.015, ident.eye_y - 1.0 * h],
                 [cx + sx * 0.012, ident.eye_y - 2.4 * h]],
                _mix(skin, dark, 0.7 * a4[s] + 0.2 * a9[s]), 0.6 * PX)

        # ---- nose wing: AU9 raises it (and wrinkles the bridge), AU38 flares it
        ny = ident.nose_y - 1.5 * PX * a9[s] - 0.4 * PX * a10[s]
        nx = cx + sx * (ident.nose_w * 0.55 + 0.8 * PX * a38[s] + 0.3 * PX * a9[s])
        cv.ellipse((nx, ny), (ident.nose_w * 0.30 * (1 + 0.25 * a38[s]), ident.nose_w * 0.16),
                   _mix(skin, dark, 0.25))
        cv.ellipse((cx + sx * ident.nose_w * 0.28, ny + 0.2 * PX),
                   (ident.nose_w * 0.16 * (1 + 0.5 * a38[s]), ident.nose_w * 0.08),
                   _mix(skin, dark, 0.9))
        cv.line([[cx + sx * 0.012, ident.eye_y], [cx + sx * ident.nose_w * 0.35, ny - 0.03]],
                _mix(skin, dark, 0.15), 0.5 * PX)
        for r in (0, 1):
            wy = ident.eye_y + 0.02 + 0.018 * r - 0.6 * PX * a9[s]
            cv.line([[cx + sx * 0.004, wy], [cx + sx * 0.03, wy + 0.003]],
                    _mix(skin, dark, 0.75 * a9[s]), 0.5 * PX)

    # ---- mouth: corners per side, upper / lower lip, opening
    ym = ident.mouth_y
    corners = []
    for s, sx in ((0, -1.0), (1, 1.0)):
        dx = (1.5 * a12[s] - 0.7 * a14[s] + 0.3 * a15[s] + 2.0 * a20[s] - 1.0 * a23[s]) * PX
        dy = (-2.2 * a12[s] - 0.3 * a14[s] + 2.0 * a15[s] + 0.6 * a20[s] - 0.4 * a10[s] +
              0.6 * a17[s]) * PX
        corners.append((cx + sx * ident.mouth_w + sx * dx, ym + dy))
    (lx, ly), (rx, ry) = corners
    mean = lambda v: float(v.mean())  # noqa: E731
    thin = 1 - 0.35 * mean(a23) - 0.45 * mean(a24)
    gap = (1.2 * mean(a25) + 1.6 * mean(a26) + 1.0 * mean(a16) + 0.5 * mean(a10)) * PX
    contact_y = ym - (1.2 * mean(a10) + 0.8 * mean(a17)) * PX
    upper_top = contact_y - ident.upper_lip * thin - 1.2 * PX * mean(a10) + 0.4 * PX * mean(a24)
    lower_bot = (contact_y + ident.lower_lip * thin + 1.5 * PX * mean(a16) +
                 2.4 * PX * mean(a26) - 1.0 * PX * mean(a17) - 0.4 * PX * mean(a24))
    half = (rx - lx) / 2
    mx = (rx + lx) / 2
    sag = contact_y + 0.075 * (ly + ry - 2 * contact_y)  # the contact line follows the corners
    contact = _catmull(np.array([[lx, ly], [mx - 0.5 * half, sag], [mx, contact_y],
                                 [mx + 0.5 * half, sag], [rx, ry]]))
    bow = 0.25 * ident.upper_lip * thin
    upper = _catmull(np.array([[lx, ly], [mx - 0.35 * half, upper_top - bow], [mx, upper_top],
                               [mx + 0.35 * half, upper_top - bow], [rx, ry]]))
    lip_side = lower_bot - 0.2 * ident.lower_lip
    lower = _catmull(np.array([[lx, ly], [mx - 0.5 * half, lip_side], [mx, lower_bot],
                               [mx + 0.5 * half, lip_side], [rx, ry]]))
    t = np.linspace(0, 1, len(contact))
    bulge = np.sin(np.pi * t)[:, None] * np.array([0.0, 1.0])
    top_in, bot_in = contact - bulge * gap * 0.45, contact + bulge * gap * 0.55
    cv.poly(np.concatenate([upper, top_in[::-1]]), ident.lips)
    cv.poly(np.concatenate([bot_in, lower[::-1]]), ident.lips * 1.05)
    if gap > 0.2 * PX:
        cv.poly(np.concatenate([top_in, bot_in[::-1]]), np.array([40., 30., 45.]))
        teeth = np.concatenate([top_in[4:-4], top_in[4:-4][::-1] + [0, gap * 0.3]])
        cv.poly(teeth, np.array([210., 215., 220.]))
    cv.line(contact, ident.lips * 0.4, (0.9 + 0.4 * mean(a24)) * PX)
    # dimples (AU14) and nasolabial folds (deepened by AU6 / AU9 / AU10 / AU12)
    for s, sx, (px_, py_) in ((0, -1.0, corners[0]), (1, 1.0, corners[1])):
        cv.line([[px_ + sx * 0.022, py_ - 0.012], [px_ + sx * 0.024, py_ + 0.008]],
                _mix(skin, dark, 0.8 * a14[s]), 0.6 * PX)
        fold_top = (cx + sx * ident.nose_w * 0.9, ident.nose_y - 0.005 - 1.2 * PX * a9[s])
        fold = _catmull(np.array([fold_top, [px_ + sx * 0.03, (fold_top[1] + py_) / 2],
                                  [px_ + sx * 0.025, py_ + 0.015]]), 4)
        cv.line(fold, _mix(skin, dark, 0.12 + 0.3 * (a10[s] + 0.5 * a6[s] + 0.6 * a12[s] +
                                                     0.4 * a9[s])), 0.6 * PX)
    # chin: mentolabial furrow pushed up by AU17 (and the chin boss wrinkles), lowered by AU26
    chin_y = lower_bot + 0.03 - 0.8 * PX * mean(a17)
    cv.line(_catmull(np.array([[mx - 0.5 * half, chin_y], [mx, chin_y + 0.006],
                               [mx + 0.5 * half, chin_y]]), 4),
            _mix(skin, dark, 0.15 + 0.5 * mean(a17)), 0.6 * PX)
    if mean(a17) > 0.05:
        for dxk in (-0.02, 0.0, 0.02):
            cv.ellipse((mx + dxk, chin_y + 0.03), (0.006, 0.004),
                       _mix(skin, dark, 0.45 * mean(a17)))


# --------------------------------------------------------------------------------------------------
# clips

def _static_layers(ident: Identity, size: int, ss: int) -> Tuple[np.ndarray, np.ndarray]:
    """Background (with hair volume, ears, neck) at supersampled size, and the skin shading map."""
    big = size * ss
    img = np.empty((big, big, 3), np.uint8)
    img[:] = np.clip(ident.bg, 0, 255).astype(np.uint8)
    cv = _Canvas(img)
    cx, cy = ident.cx, ident.cy
    cv.poly([[cx - 0.13, cy + 0.3], [cx + 0.13, cy + 0.3], [cx + 0.17, 1.0], [cx - 0.17, 1.0]],
            ident.skin * 0.85)  # neck
    for sx in (-1, 1):
        cv.ellipse((ident.cx + sx * ident.face_a * 0.98, ident.eye_y + 0.04), (0.035, 0.07),
                   ident.skin * 0.92)
    cv.ellipse((ident.cx, ident.cy - ident.face_b * 0.25), (ident.face_a * 1.08,
                                                           ident.face_b * 0.85), ident.hair)
    # shading: darker towards the face border plus low-frequency skin texture (moves with the head)
    rng = np.random.default_rng(ident.shading_seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = ((xx - ident.cx) / ident.face_a)**2 + ((yy - ident.cy) / ident.face_b)**2
    shade = 1.0 - 0.10 * np.clip(r, 0, 1)**2
    tex = cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (size, size),
                     interpolation=cv2.INTER_CUBIC)
    shade = shade * (1 + 0.03 * tex) * (1 + 0.02 * rng.normal(0, 1, (size, size))).astype(
        np.float32)
    return img, shade[..., None].astype(np.float32)


def temporal_profile(n: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Level of the expression per frame: 0 up to the onset, a cosine rise to 1 at the apex and a
    cosine fall back to 0 at the offset."""
    lv = np.zeros(n)
    for i in range(onset, offset + 1):
        if i <= apex:
            u = (i - onset) / max(apex - onset, 1)
        else:
            u = (offset - i) / max(offset - apex, 1)
        lv[i] = 0.5 - 0.5 * math.cos(math.pi * u)
    return lv


@dataclass
class ClipSpec:
    """What one clip shows; drawn by :func:`sample_clip_spec` or built by hand in tests."""
    aus: List[AUCode]
    num_frames: int = 30
    onset: int = 2  # 0-based frame indices inside the clip
    apex: int = 14
    offset: int = 27
    amplitude: float = 1.0  # global strength of the expression
    au_gain: Dict[AUCode, float] = field(default_factory=dict)  # per-AU factor around amplitude
    blinks: List[Tuple[int, int, float]] = field(default_factory=list)  # (start, length, depth)
    jitter_px: float = 0.15  # head motion (std of the smooth translation, pixels at 64x64)
    rot_deg: float = 0.1
    illum_drift: float = 0.03
    noise_std: float = 1.5  # sensor noise (grey levels)
    weak: bool = False


def sample_clip_spec(rng: np.random.Generator, emotion: str,
                     stats: Dict[str, List[Tuple[List[AUCode], float]]],
                     frames_range: Tuple[int, int] = (20, 40), weak_prob: float = 0.15,
                     distractor_prob: float = 0.1) -> ClipSpec:
    """Draw the AUs of an emotion from the real statistics, timing, strength and nuisance."""
    combos, probs = zip(*stats[emotion])
    aus = list(combos[rng.choice(len(combos), p=np.asarray(probs) / np.sum(probs))])
    if rng.uniform() < distractor_prob:  # an unrelated AU (annotated, as coders would)
        aus.append(AUCode(int(rng.choice([4, 7, 14, 17, 24, 2, 10, 25]))))
    aus = sort_codes(set(aus))
    n = int(rng.integers(frames_range[0], frames_range[1] + 1))
    onset = int(rng.integers(0, 4))
    offset = n - 1 - int(rng.integers(0, 4))
    apex = onset + int(round(rng.uniform(0.3, 0.7) * (offset - onset)))
    weak = bool(rng.uniform() < weak_prob)
    amplitude = rng.uniform(0.3, 0.5) if weak else rng.uniform(0.7, 1.3)
    gains = {c: float(rng.uniform(0.75, 1.25)) for c in aus}
    blinks = []
    for _ in range(int(rng.poisson(0.4))):
        ln = int(rng.integers(3, 6))
        blinks.append((int(rng.integers(0, n - ln + 1)), ln, float(rng.uniform(0.7, 1.0))))
    return ClipSpec(aus=aus, num_frames=n, onset=onset, apex=apex, offset=offset,
                    amplitude=float(amplitude), au_gain=gains, blinks=blinks,
                    jitter_px=float(rng.uniform(0.05, 0.25)), rot_deg=float(rng.uniform(0.03, 0.2)),
                    illum_drift=float(rng.uniform(-0.04, 0.04)),
                    noise_std=float(rng.uniform(0.8, 2.2)), weak=weak)


def _smooth_walk(rng, n, std):
    """A smooth zero-start random trajectory (n,) with roughly the given std."""
    if std <= 0:
        return np.zeros(n)
    steps = rng.normal(0, 1, n + 8)
    walk = np.convolve(steps, np.hanning(9) / np.hanning(9).sum(), mode='valid')[:n]
    walk = np.cumsum(walk) / math.sqrt(n)
    walk = walk - walk[0]
    s = walk.std()
    return walk * (std / s if s > 1e-9 else 0.0)


def render_clip(ident: Identity, spec: ClipSpec, size: int, rng: np.random.Generator,
                color: bool = True, static=None) -> np.ndarray:
    """Frames of one clip: (T, size, size, 3) uint8 BGR (grey replicated unless ``color``)."""
    ss = max(2, int(round(256 / size)))
    bg, shade = static if static is not None else _static_layers(ident, size, ss)
    n = spec.num_frames
    level = temporal_profile(n, spec.onset, spec.apex, spec.offset)
    amps = {c: spec.amplitude * spec.au_gain.get(c, 1.0) for c in spec.aus}
    closure = np.zeros((n, 2))
    for start, ln, depth in spec.blinks:
        for j in range(ln):
            if start + j < n:
                closure[start + j] = max(closure[start + j, 0], depth * math.sin(
                    math.pi * (j + 1) / (ln + 1)))
    tx = _smooth_walk(rng, n, spec.jitter_px * size / 64)
    ty = _smooth_walk(rng, n, spec.jitter_px * size / 64)
    rot = _smooth_walk(rng, n, spec.rot_deg)
    gain = 1 + spec.illum_drift * np.linspace(0, 1, n)
    gx = rng.uniform(-0.5, 0.5) * spec.illum_drift
    xs = (np.arange(size, dtype=np.float32) / size - 0.5)[None, :, None]
    frames = np.empty((n, size, size, 3), np.uint8)
    c = size / 2
    neutral = None
    for i in range(n):
        still = level[i] == 0 and not closure[i].any()
        if still and neutral is not None:
            img = neutral.copy()
        else:
            hi = bg.copy()
            _draw_face(_Canvas(hi), ident, activations(spec.aus, amps, level[i]), closure[i])
            img = cv2.resize(hi, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
            img *= shade
            if still:
                neutral = img.copy()
        m = cv2.getRotationMatrix2D((c, c), rot[i], 1.0)
        m[:, 2] += (tx[i], ty[i])
        img = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
        img *= gain[i] * (1 + gx * i / max(n - 1, 1) * xs)
        img += rng.normal(0, spec.noise_std, img.shape).astype(np.float32)
        if not color:
            img = np.repeat(cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8),
                                         cv2.COLOR_BGR2GRAY)[..., None], 3, 2).astype(np.float32)
        frames[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return frames


# --------------------------------------------------------------------------------------------------
# dataset

def _emotion_plan(rng: np.random.Generator, num: int, class_mix: Dict[str, float]) -> List[str]:
    """Raw emotions of ``num`` clips: classes drawn by ``class_mix``, negatives split equally."""
    negatives = [e for e in EMOTIONS if e in NEGATIVE]
    names, probs = [], []
    for emo in EMOTIONS:
        cls = CLASS_SCHEMES['synthetic_3'].class_of(emo)
        share = class_mix.get(cls, 0.0)
        names.append(emo)
        probs.append(share / len(negatives) if cls == 'negative' else share)
    probs = np.asarray(probs) / np.sum(probs)
    return [names[k] for k in rng.choice(len(names), size=num, p=probs)]


def _clip_job(job):
    """Render and write one clip; returns its annotation record (runs in a worker process)."""
    (out_dir, seed, subj_idx, clip_idx, emotion, size, color, frames_range, weak_prob,
     jpeg_quality) = job
    cv2.setNumThreads(1)
    stats = _STATS_CACHE.setdefault(STATS_FILE, load_au_stats())
    ident = sample_identity(np.random.default_rng([seed, subj_idx, 0]))
    rng = np.random.default_rng([seed, subj_idx, 1, clip_idx])
    spec = sample_clip_spec(rng, emotion, stats, frames_range=frames_range, weak_prob=weak_prob)
    key = (seed, subj_idx, size)
    if key not in _STATIC_CACHE:
        _STATIC_CACHE.clear()
        _STATIC_CACHE[key] = _static_layers(ident, size, max(2, int(round(256 / size))))
    frames = render_clip(ident, spec, size, rng, color=color, static=_STATIC_CACHE[key])
    subject = f's{subj_idx + 1:02d}'
    sample_id = f'{subject}_{clip_idx + 1:03d}'
    start = int(rng.integers(1, 3000))
    frame_dir = f'{subject}/{sample_id}'
    tmpl = 'img_{:05d}.jpg'
    clip_dir = osp.join(out_dir, 'frames', subject, sample_id)
    os.makedirs(clip_dir, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    for i, frame in enumerate(frames):
        img = frame if color else frame[..., 0]
        if not cv2.imwrite(osp.join(clip_dir, tmpl.format(start + i)), img, params):
            raise OSError(f'could not write a frame into {clip_dir}')
    aus = format_au_list(spec.aus)
    record = make_record(  # au_list parsed back from the string: the two always agree
        sample_id=sample_id, subject=subject, frame_dir=frame_dir, filename_tmpl=tmpl,
        onset=start + spec.onset, apex=start + spec.apex, offset=start + spec.offset,
        emotion=emotion, aus=aus, where=f'synthetic clip {sample_id}',
        synthetic=dict(amplitude=round(spec.amplitude, 4), weak=spec.weak,
                       num_frames=spec.num_frames,
                       blink_frames=sorted({start + b + j for b, ln, _ in spec.blinks
                                            for j in range(ln) if b + j < spec.num_frames})))
    if record['au_list'] != [c.to_dict() for c in spec.aus]:
        raise AssertionError(f'{sample_id}: {aus!r} does not parse back to {spec.aus}')
    return record


_STATS_CACHE: dict = {}
_STATIC_CACHE: dict = {}


def make_synthetic_dataset(out_dir: str, num_subjects: int = 8, clips_per_subject: int = 12,
                           size: int = 64, seed: int = 0, workers: int = 0,
                           frames_range: Tuple[int, int] = (20, 40), color: bool = True,
                           weak_prob: float = 0.15, class_mix: Optional[Dict[str, float]] = None,
                           jpeg_quality: int = 95, overwrite: bool = False) -> str:
    """Render a synthetic ME dataset to ``out_dir``; returns the path of its ``annotations.json``.

    Layout: ``out_dir/frames/<subject>/<sample_id>/img_{:05d}.jpg`` (numbering starts at a random
    per-clip offset, as real releases do) and ``out_dir/annotations.json`` in the canonical format
    (``frame_dir`` relative to ``out_dir/frames``: ``data_prefix=dict(img=<out_dir>/frames)``).
    The emotions are raw labels for the ``synthetic_3`` class scheme. ``workers`` > 1 renders clips
    in parallel processes; the output does not depend on it.
    """
    if num_subjects < 1 or clips_per_subject < 1:
        raise ValueError('num_subjects and clips_per_subject must be >= 1')
    if size < 32:
        raise ValueError(f'size={size} is too small to draw a face; use 32 or more')
    lo, hi = frames_range
    if not 8 <= lo <= hi:
        raise ValueError(f'frames_range={frames_range} must satisfy 8 <= min <= max')
    class_mix = dict(DEFAULT_CLASS_MIX if class_mix is None else class_mix)
    bad = sorted(set(class_mix) - set(CLASS_SCHEMES['synthetic_3'].classes))
    if bad or sum(class_mix.values()) <= 0 or min(class_mix.values()) < 0:
        raise ValueError(f'class_mix={class_mix} must give non-negative weights to classes of '
                         f"{list(CLASS_SCHEMES['synthetic_3'].classes)}")
    ann_path = osp.join(out_dir, 'annotations.json')
    frames_root = osp.join(out_dir, 'frames')
    if osp.exists(ann_path) or osp.exists(frames_root):
        if not overwrite:
            raise FileExistsError(f'{out_dir} already holds a dataset; pass overwrite=True '
                                  '(--overwrite) to replace it or choose another folder')
        _remove_previous(out_dir, ann_path, frames_root)
    os.makedirs(frames_root, exist_ok=True)
    jobs = []
    for s in range(num_subjects):
        emotions = _emotion_plan(np.random.default_rng([seed, s, 2]), clips_per_subject, class_mix)
        for c, emotion in enumerate(emotions):
            jobs.append((out_dir, seed, s, c, emotion, size, color, (lo, hi), weak_prob,
                         jpeg_quality))
    if workers and workers > 1:
        import multiprocessing as mp
        with mp.get_context('spawn' if os.name == 'nt' else 'fork').Pool(workers) as pool:
            records = pool.map(_clip_job, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    else:
        records = [_clip_job(j) for j in jobs]
    metainfo = dict(
        dataset_name='synthetic', source='mer_clip.datasets.synthetic', format_version=1,
        generator_version=GENERATOR_VERSION, seed=seed, class_scheme='synthetic_3',
        params=dict(num_subjects=num_subjects, clips_per_subject=clips_per_subject, size=size,
                    frames_range=[lo, hi], color=color, weak_prob=weak_prob,
                    class_mix=class_mix, jpeg_quality=jpeg_quality,
                    au_stats=osp.basename(STATS_FILE)),
        subjects=[f's{s + 1:02d}' for s in range(num_subjects)],
        side_convention='L/R are the subject\'s left/right (right/left half of the image)')
    _write_annotations(ann_path, metainfo, records)
    return ann_path


def _remove_previous(out_dir, ann_path, frames_root):
    """Delete an earlier synthetic set in ``out_dir``, refusing anything that is not one."""
    if osp.exists(ann_path):
        try:
            with open(ann_path, encoding='utf-8') as f:
                name = json.load(f).get('metainfo', {}).get('dataset_name')
        except (OSError, ValueError):
            name = None
        if name != 'synthetic':
            raise FileExistsError(f'{ann_path} is not a synthetic dataset (dataset_name={name!r});'
                                  ' refusing to overwrite it')
        os.remove(ann_path)
    elif osp.exists(frames_root):
        raise FileExistsError(f'{frames_root} exists without annotations.json; remove it yourself')
    if osp.exists(frames_root):
        shutil.rmtree(frames_root)


def _write_annotations(path, metainfo, records):
    dump_annotations(records, path, metainfo=metainfo)


def describe(ann_path: str) -> str:
    """One-paragraph summary of a written set (emotion and class counts)."""
    with open(ann_path, encoding='utf-8') as f:
        data = json.load(f)
    scheme = CLASS_SCHEMES['synthetic_3']
    emo: Dict[str, int] = {}
    cls: Dict[str, int] = {}
    frames = 0
    for r in data['data_list']:
        emo[r['emotion']] = emo.get(r['emotion'], 0) + 1
        c = scheme.class_of(normalize_emotion(r['emotion']))
        cls[c] = cls.get(c, 0) + 1
        frames += r['synthetic']['num_frames']
    return (f'{len(data["data_list"])} clips, {frames} frames, '
            f'{len(data["metainfo"]["subjects"])} subjects; classes {dict(sorted(cls.items()))}; '
            f'emotions {dict(sorted(emo.items()))}')


__all__ = ['make_synthetic_dataset', 'render_clip', 'sample_identity', 'sample_clip_spec',
           'ClipSpec', 'Identity', 'load_au_stats', 'temporal_profile', 'describe',
           'RENDERED_AUS', 'EMOTIONS', 'GENERATOR_VERSION']
