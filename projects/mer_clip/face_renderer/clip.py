"""One clip: what it shows (:class:`ClipSpec`), how that is drawn at random, and its frames.

A clip is a micro-expression on one subject's face: neutral up to the onset, a cosine rise of the
AUs' actions to the apex and back by the offset (:func:`temporal_profile`), with nuisance that
makes it not trivially separable: blinks, sub-pixel head jitter and rotation, illumination drift,
sensor noise, and weak clips whose movement is close to the noise. Everything random comes from
the ``numpy.random.Generator`` passed in, so a clip is a pure function of its seed.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import cv2
import numpy as np

from mer_clip.au.codes import AUCode, sort_codes

from .actions import FaceActions
from .canvas import Canvas
from .face import draw_face, static_layers
from .identity import Identity


def supersampling(size: int) -> int:
    """Factor at which a ``size`` x ``size`` frame is drawn before it is shrunk (anti-aliasing of
    sub-pixel movements): about 256 px drawn, at least 2x."""
    return max(2, int(round(256 / size)))


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


def smooth_walk(rng, n, std):
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
    """Frames of one clip: (T, size, size, 3) uint8 BGR (grey replicated unless ``color``).

    ``rng`` draws the head motion, illumination gradient and noise; ``static`` is the subject's
    :func:`static_layers` at this size, when the caller caches them (they depend on the subject
    only).
    """
    bg, shade = static if static is not None else static_layers(ident, size, supersampling(size))
    n = spec.num_frames
    level = temporal_profile(n, spec.onset, spec.apex, spec.offset)
    amps = {c: spec.amplitude * spec.au_gain.get(c, 1.0) for c in spec.aus}
    closure = np.zeros((n, 2))
    for start, ln, depth in spec.blinks:
        for j in range(ln):
            if start + j < n:
                closure[start + j] = max(closure[start + j, 0], depth * math.sin(
                    math.pi * (j + 1) / (ln + 1)))
    tx = smooth_walk(rng, n, spec.jitter_px * size / 64)  # head translation (pixels), per frame
    ty = smooth_walk(rng, n, spec.jitter_px * size / 64)
    rot = smooth_walk(rng, n, spec.rot_deg)  # head rotation (degrees), per frame
    gain = 1 + spec.illum_drift * np.linspace(0, 1, n)  # global illumination drift
    gx = rng.uniform(-0.5, 0.5) * spec.illum_drift  # left-right illumination gradient, growing
    xs = (np.arange(size, dtype=np.float32) / size - 0.5)[None, :, None]  # (1, W, 1)
    frames = np.empty((n, size, size, 3), np.uint8)
    c = size / 2
    neutral = None  # the neutral face, drawn once: frames at level 0 without a blink reuse it
    for i in range(n):
        still = level[i] == 0 and not closure[i].any()
        if still and neutral is not None:
            img = neutral.copy()
        else:
            hi = bg.copy()
            draw_face(Canvas(hi), ident, FaceActions.at_level(spec.aus, amps, level[i]), closure[i])
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
