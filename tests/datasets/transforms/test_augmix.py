"""VideoAugMix: one op chain and one set of weights for the whole clip, no fake motion."""
import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import AugMix

import mer_clip  # noqa: F401
from mmaction.registry import TRANSFORMS

from mer_clip.datasets.transforms.augmix import CLIP_STATISTIC_OPS, VideoAugMix

torch.set_num_threads(1)
T, H, W = 6, 48, 48


def face_like(seed, size=(H, W)):
    """A smooth random RGB image (gradients + blobs), uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[0], 0:size[1]] / max(size)
    img = np.stack([90 + 80 * np.sin(3 * xx + c) * np.cos(2 * yy - c) for c in range(3)], -1)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def static_clip(seed):
    frame = face_like(seed)
    return [frame.copy() for _ in range(T)]


def moving_patch_clip(seed):
    """Frames equal except a central 8x8 patch that brightens over time (a 'micro-movement')."""
    frames = static_clip(seed)
    for t, f in enumerate(frames):
        f[20:28, 20:28] = np.clip(f[20:28, 20:28].astype(int) + 12 * t, 0, 255)
    return frames


def frame_diffs(frames):
    a = np.stack(frames).astype(np.int16)
    return np.abs(a[1:] - a[:-1])


def test_registered_and_shapes_dtype():
    aug = TRANSFORMS.build(dict(type='VideoAugMix', prob=1.0))
    assert isinstance(aug, VideoAugMix) and aug.severity == 1
    torch.manual_seed(0)
    out = aug(dict(imgs=static_clip(0), sample_id='x'))
    assert len(out['imgs']) == T
    for f in out['imgs']:
        assert f.dtype == np.uint8 and f.shape == (H, W, 3)
    assert out['augmix'] is not None and len(out['augmix']['chains']) == 3


def test_static_clip_stays_static_per_frame_augmix_does_not():
    torch.manual_seed(0)
    aug = VideoAugMix(severity=3, prob=1.0)
    changed = 0
    per_frame_motion, batched_motion = [], []
    for seed in range(12):
        frames = static_clip(seed)
        out = aug(dict(imgs=[f.copy() for f in frames]))['imgs']
        assert frame_diffs(out).max() == 0  # exactly no motion
        changed += int(not np.array_equal(out[0], frames[0]))
        # torchvision's AugMix frame by frame: independent chains and weights per frame
        tv = AugMix(severity=3)
        per_frame = [tv(torch.from_numpy(f).permute(2, 0, 1)).permute(1, 2, 0).numpy()
                     for f in frames]
        per_frame_motion.append(frame_diffs(per_frame).mean())
        # torchvision's AugMix on a plain (T, C, H, W) tensor: one chain, weights per frame
        batch = tv(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
        batched_motion.append(frame_diffs(list(batch.permute(0, 2, 3, 1).numpy())).mean())
    assert changed >= 10  # it does augment
    assert np.mean(per_frame_motion) > 1.0  # per-frame AugMix invents motion on a still face
    assert max(batched_motion) > 0.5


def test_only_real_motion_survives_with_clip_statistics():
    """Frames that differ only in a patch still differ only near that patch after augmentation.

    torchvision's AugMix on a ``tv_tensors.Video`` shares chains and weights over the clip but
    computes AutoContrast / Equalize / Contrast statistics per frame, which changes pixels far from
    the moving patch; the clip-statistic version must not.
    """
    torch.manual_seed(1)
    aug = VideoAugMix(severity=1, prob=1.0)
    tv = AugMix(severity=1)
    outside = np.ones((H, W), dtype=bool)
    outside[20 - 14:28 + 14, 20 - 14:28 + 14] = False  # patch + margin for <= 3 warps of severity 1
    tv_leak, stat_draws = 0, 0
    for seed in range(25):
        frames = moving_patch_clip(seed)
        out = aug(dict(imgs=[f.copy() for f in frames]))
        assert frame_diffs(out['imgs'])[:, outside].max() == 0
        stat_draws += any(name in CLIP_STATISTIC_OPS for chain in out['augmix']['chains']
                          for name, _ in chain)
        video = tv_tensors.Video(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
        res = tv(video).permute(0, 2, 3, 1).numpy()
        tv_leak += int(frame_diffs(list(res))[:, outside].max() > 0)
    assert stat_draws >= 10  # the clip-statistic ops were exercised
    assert tv_leak >= 3  # and per-frame statistics would have leaked motion


def test_severity_one_magnitudes_are_small_but_not_zero():
    """Level in [0.1, 1] of 10 (AugMix reference), not torchvision's always-zero first bin."""
    torch.manual_seed(2)
    aug = VideoAugMix(severity=1, prob=1.0, width=3, depth=3)
    seen = {}
    for seed in range(30):
        out = aug(dict(imgs=static_clip(seed)))
        for chain in out['augmix']['chains']:
            for name, m in chain:
                seen.setdefault(name, []).append(m)
    assert {'Rotate', 'ShearX', 'TranslateX', 'Posterize', 'Brightness'} <= set(seen)
    rot = np.abs(seen['Rotate'])
    assert rot.max() <= 3.0 + 1e-6 and rot.min() >= 0.3 - 1e-6
    assert np.abs(seen['TranslateX']).max() <= W / 30 + 1e-6
    assert np.abs(seen['ShearX']).max() <= 0.03 + 1e-9
    assert set(seen['Posterize']) == {4.0}
    bright = np.abs(seen['Brightness'])
    assert 0.009 - 1e-9 <= bright.min() and bright.max() <= 0.09 + 1e-9


def test_probability_and_determinism():
    frames = static_clip(3)
    ident = VideoAugMix(prob=0.0)(dict(imgs=[f.copy() for f in frames]))
    assert ident['augmix'] is None
    assert all(np.array_equal(a, b) for a, b in zip(ident['imgs'], frames))
    half = VideoAugMix(prob=0.5)
    torch.manual_seed(0)
    applied = sum(half(dict(imgs=[f.copy() for f in frames]))['augmix'] is not None
                  for _ in range(200))
    assert 60 < applied < 140
    aug = VideoAugMix(severity=2, prob=1.0)
    torch.manual_seed(42)
    a = aug(dict(imgs=moving_patch_clip(0)))['imgs']
    torch.manual_seed(42)
    b = aug(dict(imgs=moving_patch_clip(0)))['imgs']
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_bad_input_is_named():
    aug = VideoAugMix(prob=1.0)
    with pytest.raises(TypeError, match='sample s7.*frame 1'):
        aug(dict(imgs=[np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float32)],
                 sample_id='s7'))
    with pytest.raises(ValueError):
        VideoAugMix(severity=0)
