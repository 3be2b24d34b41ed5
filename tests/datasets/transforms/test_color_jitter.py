"""VideoColorJitter: one pixel-wise colour map for the whole clip (no per-frame flicker)."""
import numpy as np

import mer_clip  # noqa: F401
from mmaction.datasets.transforms import ColorJitter
from mmaction.registry import TRANSFORMS

T, H, W = 5, 24, 24


def moving_patch_clip(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(30, 220, (H, W, 3), dtype=np.uint8)
    frames = []
    for t in range(T):
        f = base.copy()
        f[8:14, 8:14] = np.clip(f[8:14, 8:14].astype(int) + 20 * t, 0, 255)
        frames.append(f)
    return frames


def outside_patch_motion(frames):
    a = np.stack(frames).astype(np.int16)
    d = np.abs(a[1:] - a[:-1])
    d[:, 8:14, 8:14] = 0
    return int(d.max())


def test_same_map_for_every_frame():
    jitter = TRANSFORMS.build(dict(type='VideoColorJitter', prob=1.0, contrast=0.5))
    np.random.seed(0)
    for seed in range(10):
        frames = moving_patch_clip(seed)
        out = jitter(dict(imgs=[f.copy() for f in frames]))
        assert out['color_jitter'] is not None
        assert all(f.dtype == np.uint8 and f.shape == (H, W, 3) for f in out['imgs'])
        assert outside_patch_motion(out['imgs']) == 0  # only the real movement differs
        assert not np.array_equal(out['imgs'][0], frames[0])


def test_mmaction_colorjitter_contrast_flickers():
    """mmaction's ColorJitter uses each frame's own mean grey for contrast: pixels that do not
    move change between frames (why VideoColorJitter exists)."""
    np.random.seed(0)
    jitter = ColorJitter(brightness=0, contrast=(0.5, 0.5), saturation=0, hue=0)
    out = jitter(dict(imgs=moving_patch_clip(0)))
    assert outside_patch_motion(out['imgs']) > 0


def test_probability_zero_is_identity():
    frames = moving_patch_clip(1)
    out = TRANSFORMS.build(dict(type='VideoColorJitter', prob=0.0))(
        dict(imgs=[f.copy() for f in frames]))
    assert out['color_jitter'] is None
    assert all(np.array_equal(a, b) for a, b in zip(out['imgs'], frames))


def test_hue_shift_turns_the_colour_circle_both_ways():
    from mer_clip.datasets.transforms.color_jitter import VideoColorJitter
    red = np.zeros((2, 2, 3), np.float32)
    red[..., 0] = 255
    green = VideoColorJitter.shift_hue(red, 1 / 3)
    blue = VideoColorJitter.shift_hue(red, -1 / 3)  # negative shift: mmaction's overflows here
    assert np.array_equal(green[0, 0], [0, 255, 0]) and np.array_equal(blue[0, 0], [0, 0, 255])
