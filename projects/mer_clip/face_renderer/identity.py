"""The static appearance of one synthetic subject, and how subjects are drawn at random."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Identity:
    """Static appearance of one subject (face-canvas units, colours BGR in [0, 255])."""
    bg: np.ndarray  # background colour
    skin: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    cx: float  # face centre
    cy: float
    face_a: float  # half width of the face ellipse
    face_b: float  # half height
    hairline: float  # y of the hair line at the centre
    fringe: float  # curvature of the hair line
    eye_y: float  # height of the eye centres
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
    shading_seed: int = 0  # seed of the skin texture


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
