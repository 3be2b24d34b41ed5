"""Drawing one face at one instant: where each rendered AU moves it.

:func:`draw_face` draws the moving parts (face outline, hair line, eyes, brows, nose, mouth, folds,
chin) over the background of :func:`static_layers` (hair volume, ears, neck, and the skin shading
map applied after the frame is shrunk). Movements are a few pixels at 64 x 64 (:data:`PX`): a micro-
expression, not a grimace. Per side, ``s`` is the image half (0: image left = subject's right) and
``sx`` its direction from the face centre (-1 / +1).
"""
from typing import Tuple

import cv2
import numpy as np

from .actions import FaceActions
from .canvas import Canvas, catmull_rom, mix
from .identity import Identity

PX = 1.0 / 64  # one pixel of a 64x64 image, in face-canvas units ([0, 1] across the image)
SIDES = ((0, -1.0), (1, 1.0))  # (image half, direction from the face centre)

_COS72, _SIN72 = np.cos(np.linspace(0, 2 * np.pi, 72, endpoint=False)), np.sin(
    np.linspace(0, 2 * np.pi, 72, endpoint=False))
_COS_ARC, _SIN_ARC = np.cos(np.linspace(0, -np.pi, 24)), np.sin(np.linspace(0, -np.pi, 24))
_EYE_XS = np.linspace(-1, 1, 13)  # along the eye, from its inner to its outer corner (x sx)
_BROW_XS = np.linspace(-1.15, 1.2, 7)  # along the brow, in eye half-widths
_EYE_WHITE = np.array([235., 238., 240.])
_PUPIL = np.array([15., 15., 15.])
_BLUSH = np.array([90., 110., 230.])
_MOUTH_INSIDE = np.array([40., 30., 45.])
_TEETH = np.array([210., 215., 220.])


def draw_face(cv: Canvas, ident: Identity, actions: FaceActions, closure: np.ndarray):
    """Draw the face at one instant. ``closure`` (2,) is the eyelid closure of a blink (0..1)
    per image half."""
    _draw_head(cv, ident, actions.mean_over_sides())
    for s, sx in SIDES:
        act = actions.on_side(s)
        _draw_eye(cv, ident, act, closure[s], sx)
        _draw_brow(cv, ident, act, sx)
        _draw_nose_side(cv, ident, act, sx)
    _draw_mouth_and_chin(cv, ident, actions)


def _dark(ident: Identity) -> np.ndarray:
    """The colour of creases and shadows: the skin, darker."""
    return ident.skin * 0.45


def _draw_head(cv: Canvas, ident: Identity, mean: FaceActions):
    """Face outline (the jaw drop, AU26, lowers the chin) and the hair above the hair line."""
    cx = ident.cx
    ox, oy = cx + ident.face_a * _COS72, ident.cy + ident.face_b * _SIN72
    low = np.clip((oy - ident.cy) / ident.face_b, 0, 1)**2
    oy = oy + 2.5 * PX * mean.jaw_drop * low
    cv.poly(np.stack([ox, oy], 1), ident.skin)
    hx = np.linspace(cx - ident.face_a * 1.05, cx + ident.face_a * 1.05, 24)
    hy = ident.hairline + ident.fringe * (1 - ((hx - cx) / ident.face_a)**2)
    # back over the top of the hair volume (see static_layers)
    top = np.stack([cx + ident.face_a * 1.08 * _COS_ARC,
                    ident.cy - ident.face_b * 0.25 + ident.face_b * 0.85 * _SIN_ARC], 1)
    cv.poly(np.concatenate([np.stack([hx, hy], 1), top]), ident.hair)


def _eye_geometry(ident: Identity, sx: float) -> Tuple[float, float, float, float]:
    """Centre (x, y), half width and open upper-lid height of the eye on side ``sx``."""
    return ident.cx + sx * ident.eye_dx, ident.eye_y, ident.eye_w, ident.eye_h


def _draw_eye(cv: Canvas, ident: Identity, act: FaceActions, blink: float, sx: float):
    """Eye: AU5 raises the upper lid, AU7 / AU6 narrow it from below, AU43 or a blink close it;
    AU6 also lifts the cheek (infraorbital furrow, crow's feet), AU7 adds lid tension lines."""
    skin, dark = ident.skin, _dark(ident)
    ex, ey, w, h = _eye_geometry(ident, sx)
    close = float(np.clip(max(act.eye_close, blink), 0, 1))
    upper_h = h * (1 + 0.45 * act.upper_lid_raise - 0.20 * act.lid_tighten -
                   0.10 * act.cheek_raise) * (1 - close) + 0.05 * h
    lower_h = h * 0.65 * (1 - 0.35 * act.lid_tighten - 0.30 * act.cheek_raise) * (
        1 - 0.3 * close) + 0.05 * h
    xs = _EYE_XS
    upper = np.stack(
        [ex + xs * w, ey - upper_h * (1 - xs**2) - 0.1 * h * (1 - xs**2) * xs * sx], 1)
    lower = np.stack([ex + xs * w, ey + lower_h * (1 - xs**2)], 1)
    cv.poly(np.concatenate([upper, lower[::-1]]), _EYE_WHITE)
    cv.ellipse((ex, ey - 0.1 * h), (ident.iris_r, ident.iris_r), ident.iris)
    cv.ellipse((ex, ey - 0.1 * h), (ident.iris_r * 0.45, ident.iris_r * 0.45), _PUPIL)
    # skin over what the lids hide
    box_top, box_bot = ey - 2.2 * h, ey + 1.6 * h
    cv.poly(np.concatenate([upper, [[ex + 1.3 * w, ey], [ex + 1.3 * w, box_top],
                                    [ex - 1.3 * w, box_top], [ex - 1.3 * w, ey]]]), skin)
    cv.poly(np.concatenate([lower, [[ex + 1.3 * w, ey], [ex + 1.3 * w, box_bot],
                                    [ex - 1.3 * w, box_bot], [ex - 1.3 * w, ey]]]), skin)
    cv.line(upper, ident.hair * 0.5, 1.2 * PX)  # lashes
    cv.line(lower[2:-2], mix(skin, dark, 0.5), 0.6 * PX)
    crease = upper.copy()
    crease[:, 1] -= 0.45 * h * (1 + 0.4 * act.upper_lid_raise) * (1 - 0.5 * close)
    cv.line(crease[2:-2], mix(skin, dark, 0.35), 0.6 * PX)
    # infraorbital furrow, raised by AU6 (and AU7)
    fy = ey + lower_h + 0.35 * h - 2.0 * PX * act.cheek_raise - 0.6 * PX * act.lid_tighten
    cv.line(np.stack([ex + xs[3:10] * w * 0.9, fy + 0.25 * h * (1 - xs[3:10]**2)], 1),
            mix(skin, dark, 0.18 + 0.45 * act.cheek_raise + 0.15 * act.lid_tighten), 0.6 * PX)
    if act.cheek_raise + 0.5 * act.lid_tighten > 0.05:  # crow's feet
        alpha = 0.6 * (act.cheek_raise + 0.5 * act.lid_tighten)
        for k in (-1, 0, 1):
            x0 = ex + sx * (w * 1.15)
            cv.line([[x0, ey + k * 0.35 * h], [x0 + sx * 0.03, ey + k * 0.7 * h]],
                    mix(skin, dark, alpha), 0.6 * PX)
    cheek_y = ey + 2.6 * h - 2.0 * PX * act.cheek_raise
    cv.ellipse((ex + sx * 0.2 * w, cheek_y), (0.9 * w, 0.55 * h * 1.4),
               mix(skin, _BLUSH, 0.10 + 0.12 * act.cheek_raise))


def _draw_brow(cv: Canvas, ident: Identity, act: FaceActions, sx: float):
    """Brow: AU1 raises its inner part, AU2 its outer part, AU4 lowers it and draws it in (AU9
    pulls its inner end down a little); forehead lines (AU1 in the middle, AU2 at the sides) and the
    glabella furrow (AU4)."""
    skin, dark = ident.skin, _dark(ident)
    cx = ident.cx
    ex, ey, w, h = _eye_geometry(ident, sx)
    k = _BROW_XS
    outer = (k + 1.15) / 2.35  # 0 at the inner end, 1 at the outer end
    inner = 1 - outer
    bx = ex + sx * k * w - sx * 1.2 * PX * act.brow_lower * inner
    by = (ey - h - ident.brow_gap - ident.brow_arch * (1 - (k / 1.2)**2) -
          2.6 * PX * act.inner_brow_raise * inner**1.5 -
          2.6 * PX * act.outer_brow_raise * outer**1.5 +
          1.8 * PX * act.brow_lower * (0.4 + 0.6 * inner) + 0.5 * PX * act.nose_wrinkle * inner)
    cv.line(np.stack([bx, by], 1), ident.hair * 0.8, ident.brow_thick)
    for row in (1, 2):
        fy0 = (ey - h - ident.brow_gap - 0.035 * row -
               1.5 * PX * (act.inner_brow_raise + act.outer_brow_raise))
        if fy0 > ident.hairline + ident.fringe + 0.01:
            cv.line([[cx + sx * 0.01, fy0], [cx + sx * 0.07, fy0 - 0.004]],
                    mix(skin, dark, 0.5 * act.inner_brow_raise), 0.5 * PX)
            cv.line([[ex, fy0 - 0.004], [ex + sx * w * 1.1, fy0 + 0.004]],
                    mix(skin, dark, 0.5 * act.outer_brow_raise), 0.5 * PX)
    cv.line([[cx + sx * 0.015, ident.eye_y - 1.0 * h], [cx + sx * 0.012, ident.eye_y - 2.4 * h]],
            mix(skin, dark, 0.7 * act.brow_lower + 0.2 * act.nose_wrinkle), 0.6 * PX)


def _draw_nose_side(cv: Canvas, ident: Identity, act: FaceActions, sx: float):
    """Nose wing: AU9 raises it and wrinkles the bridge, AU10 lifts it a little, AU38 flares it."""
    skin, dark = ident.skin, _dark(ident)
    cx = ident.cx
    ny = ident.nose_y - 1.5 * PX * act.nose_wrinkle - 0.4 * PX * act.upper_lip_raise
    nx = cx + sx * (ident.nose_w * 0.55 + 0.8 * PX * act.nostril_dilate +
                    0.3 * PX * act.nose_wrinkle)
    cv.ellipse((nx, ny), (ident.nose_w * 0.30 * (1 + 0.25 * act.nostril_dilate),
                          ident.nose_w * 0.16), mix(skin, dark, 0.25))
    cv.ellipse((cx + sx * ident.nose_w * 0.28, ny + 0.2 * PX),
               (ident.nose_w * 0.16 * (1 + 0.5 * act.nostril_dilate), ident.nose_w * 0.08),
               mix(skin, dark, 0.9))  # nostril
    cv.line([[cx + sx * 0.012, ident.eye_y], [cx + sx * ident.nose_w * 0.35, ny - 0.03]],
            mix(skin, dark, 0.15), 0.5 * PX)
    for r in (0, 1):
        wy = ident.eye_y + 0.02 + 0.018 * r - 0.6 * PX * act.nose_wrinkle
        cv.line([[cx + sx * 0.004, wy], [cx + sx * 0.03, wy + 0.003]],
                mix(skin, dark, 0.75 * act.nose_wrinkle), 0.5 * PX)


def _lip_corner(ident: Identity, act: FaceActions, sx: float) -> Tuple[float, float]:
    """Where one lip corner goes: AU12 pulls it out and up, AU14 in, AU15 down, AU20 out and a
    little down, AU23 in; AU10 lifts and AU17 pushes it."""
    dx = (1.5 * act.lip_corner_pull - 0.7 * act.dimple + 0.3 * act.lip_corner_depress +
          2.0 * act.lip_stretch - 1.0 * act.lip_tighten) * PX
    dy = (-2.2 * act.lip_corner_pull - 0.3 * act.dimple + 2.0 * act.lip_corner_depress +
          0.6 * act.lip_stretch - 0.4 * act.upper_lip_raise + 0.6 * act.chin_raise) * PX
    return ident.cx + sx * ident.mouth_w + sx * dx, ident.mouth_y + dy


def _draw_mouth_and_chin(cv: Canvas, ident: Identity, actions: FaceActions):
    """Lips between the two corners: AU23 / AU24 thin them, AU25 / AU26 / AU16 / AU10 open the
    mouth, AU10 raises the upper lip, AU16 / AU26 lower the lower lip, AU17 pushes it up; then the
    dimples (AU14), the nasolabial folds (deepened by AU6 / AU9 / AU10 / AU12) and the chin."""
    skin, dark = ident.skin, _dark(ident)
    cx, ym = ident.cx, ident.mouth_y
    mean = actions.mean_over_sides()
    corners = [_lip_corner(ident, actions.on_side(s), sx) for s, sx in SIDES]
    (lx, ly), (rx, ry) = corners
    thin = 1 - 0.35 * mean.lip_tighten - 0.45 * mean.lip_press
    gap = (1.2 * mean.lips_part + 1.6 * mean.jaw_drop + 1.0 * mean.lower_lip_depress +
           0.5 * mean.upper_lip_raise) * PX
    contact_y = ym - (1.2 * mean.upper_lip_raise + 0.8 * mean.chin_raise) * PX
    upper_top = (contact_y - ident.upper_lip * thin - 1.2 * PX * mean.upper_lip_raise +
                 0.4 * PX * mean.lip_press)
    lower_bot = (contact_y + ident.lower_lip * thin + 1.5 * PX * mean.lower_lip_depress +
                 2.4 * PX * mean.jaw_drop - 1.0 * PX * mean.chin_raise - 0.4 * PX * mean.lip_press)
    half = (rx - lx) / 2
    mx = (rx + lx) / 2
    sag = contact_y + 0.075 * (ly + ry - 2 * contact_y)  # the contact line follows the corners
    contact = catmull_rom(np.array([[lx, ly], [mx - 0.5 * half, sag], [mx, contact_y],
                                    [mx + 0.5 * half, sag], [rx, ry]]))
    bow = 0.25 * ident.upper_lip * thin
    upper = catmull_rom(np.array([[lx, ly], [mx - 0.35 * half, upper_top - bow], [mx, upper_top],
                                  [mx + 0.35 * half, upper_top - bow], [rx, ry]]))
    lip_side = lower_bot - 0.2 * ident.lower_lip
    lower = catmull_rom(np.array([[lx, ly], [mx - 0.5 * half, lip_side], [mx, lower_bot],
                                  [mx + 0.5 * half, lip_side], [rx, ry]]))
    t = np.linspace(0, 1, len(contact))
    bulge = np.sin(np.pi * t)[:, None] * np.array([0.0, 1.0])
    top_in, bot_in = contact - bulge * gap * 0.45, contact + bulge * gap * 0.55
    cv.poly(np.concatenate([upper, top_in[::-1]]), ident.lips)
    cv.poly(np.concatenate([bot_in, lower[::-1]]), ident.lips * 1.05)
    if gap > 0.2 * PX:
        cv.poly(np.concatenate([top_in, bot_in[::-1]]), _MOUTH_INSIDE)
        teeth = np.concatenate([top_in[4:-4], top_in[4:-4][::-1] + [0, gap * 0.3]])
        cv.poly(teeth, _TEETH)
    cv.line(contact, ident.lips * 0.4, (0.9 + 0.4 * mean.lip_press) * PX)
    for (s, sx), (px_, py_) in zip(SIDES, corners):
        act = actions.on_side(s)
        cv.line([[px_ + sx * 0.022, py_ - 0.012], [px_ + sx * 0.024, py_ + 0.008]],
                mix(skin, dark, 0.8 * act.dimple), 0.6 * PX)
        fold_top = (cx + sx * ident.nose_w * 0.9,
                    ident.nose_y - 0.005 - 1.2 * PX * act.nose_wrinkle)
        fold = catmull_rom(np.array([fold_top, [px_ + sx * 0.03, (fold_top[1] + py_) / 2],
                                     [px_ + sx * 0.025, py_ + 0.015]]), 4)
        depth = act.upper_lip_raise + 0.5 * act.cheek_raise + 0.6 * act.lip_corner_pull + \
            0.4 * act.nose_wrinkle
        cv.line(fold, mix(skin, dark, 0.12 + 0.3 * depth), 0.6 * PX)
    # chin: mentolabial furrow pushed up by AU17 (and the chin boss wrinkles), lowered by AU26
    chin_y = lower_bot + 0.03 - 0.8 * PX * mean.chin_raise
    cv.line(catmull_rom(np.array([[mx - 0.5 * half, chin_y], [mx, chin_y + 0.006],
                                  [mx + 0.5 * half, chin_y]]), 4),
            mix(skin, dark, 0.15 + 0.5 * mean.chin_raise), 0.6 * PX)
    if mean.chin_raise > 0.05:
        for dxk in (-0.02, 0.0, 0.02):
            cv.ellipse((mx + dxk, chin_y + 0.03), (0.006, 0.004),
                       mix(skin, dark, 0.45 * mean.chin_raise))


def static_layers(ident: Identity, size: int, ss: int) -> Tuple[np.ndarray, np.ndarray]:
    """What does not move with the expression: the background (hair volume, ears, neck) at the
    supersampled size ``size * ss``, and the skin shading map (size, size, 1) that multiplies
    every frame (darker towards the face border, plus low-frequency skin texture)."""
    big = size * ss
    img = np.empty((big, big, 3), np.uint8)
    img[:] = np.clip(ident.bg, 0, 255).astype(np.uint8)
    cv = Canvas(img)
    cx, cy = ident.cx, ident.cy
    cv.poly([[cx - 0.13, cy + 0.3], [cx + 0.13, cy + 0.3], [cx + 0.17, 1.0], [cx - 0.17, 1.0]],
            ident.skin * 0.85)  # neck
    for sx in (-1, 1):
        cv.ellipse((ident.cx + sx * ident.face_a * 0.98, ident.eye_y + 0.04), (0.035, 0.07),
                   ident.skin * 0.92)
    cv.ellipse((ident.cx, ident.cy - ident.face_b * 0.25), (ident.face_a * 1.08,
                                                           ident.face_b * 0.85), ident.hair)
    rng = np.random.default_rng(ident.shading_seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = ((xx - ident.cx) / ident.face_a)**2 + ((yy - ident.cy) / ident.face_b)**2
    shade = 1.0 - 0.10 * np.clip(r, 0, 1)**2
    tex = cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (size, size),
                     interpolation=cv2.INTER_CUBIC)
    shade = shade * (1 + 0.03 * tex) * (1 + 0.02 * rng.normal(0, 1, (size, size))).astype(
        np.float32)
    return img, shade[..., None].astype(np.float32)
