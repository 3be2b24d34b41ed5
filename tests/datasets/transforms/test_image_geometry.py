"""MEImageResize, MEImageRandomResizedCrop: one geometry for all channels, u and v rescaled."""
import cv2
import numpy as np
import pytest

import mer_clip  # noqa: F401
from mmaction.registry import TRANSFORMS

from mer_clip.datasets.transforms import MEImageRandomResizedCrop, MEImageResize

FLOW = ('u', 'v', 'strain')


def linear_field(h=28, w=28, a=0.02, b=-0.01, u0=0.3, v0=-0.2):
    """u = u0 + a (x - cx), v = v0 + b (y - cy): constant strain sqrt(a^2 + b^2)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = u0 + a * (xs - (w - 1) / 2)
    v = v0 + b * (ys - (h - 1) / 2)
    s = np.full((h, w), np.hypot(a, b), np.float32)
    return np.dstack([u, v, s]).astype(np.float32)


def res(img, values='raw', channels=FLOW):
    return dict(imgs=[img.copy()], channels=channels, flow_values=values, img_shape=img.shape[:2],
                sample_id='x')


def test_resize_rescales_displacements_in_pixels_only():
    f = linear_field()
    out = TRANSFORMS.build(dict(type='MEImageResize', size=(56, 42)))(res(f))['imgs'][0]
    assert out.shape == (56, 42, 3) and out.dtype == np.float32
    # the same motion on a grid 2x taller and 1.5x wider: v doubles, u grows 1.5x, strain stays
    np.testing.assert_allclose(out[..., 0].mean(), 1.5 * f[..., 0].mean(), rtol=1e-4)
    np.testing.assert_allclose(out[..., 1].mean(), 2.0 * f[..., 1].mean(), rtol=1e-4)
    np.testing.assert_allclose(out[..., 2], f[0, 0, 2], rtol=1e-5)
    # the slope du/dx in new pixels is unchanged (a displacement field, not an image, is resampled)
    np.testing.assert_allclose(np.diff(out[20, 5:-5, 0]).mean(), 0.02, rtol=0.02)
    unit = MEImageResize(56)(res(f, 'unit'))['imgs'][0]
    np.testing.assert_allclose(unit[..., 0].mean(), f[..., 0].mean(), rtol=1e-4)  # scale-free
    assert MEImageResize(56)(res(f))['img_shape'] == (56, 56)


def test_random_resized_crop_is_one_box_for_all_channels():
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((28, 28)).astype(np.float32), (0, 0), 1.5)
    img = np.dstack([base, 2 * base, 3 * base, -base, base + 1, 5 * base])  # apex + flow channels
    names = ('r', 'g', 'b') + FLOW
    t = MEImageRandomResizedCrop(area_range=(0.5, 0.8))
    np.random.seed(3)
    out = t(res(img, 'unit', names))
    x, y, w, h = out['crop_box']
    assert 0.45 * 784 <= w * h <= 0.85 * 784 and out['imgs'][0].shape == (28, 28, 6)
    got = out['imgs'][0]
    np.testing.assert_allclose(got[..., 1], 2 * got[..., 0], atol=1e-5)
    np.testing.assert_allclose(got[..., 5], 5 * got[..., 0], atol=1e-5)
    np.testing.assert_allclose(got[..., 3], -got[..., 0], atol=1e-5)
    expect = cv2.resize(base[y:y + h, x:x + w], (28, 28), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(got[..., 0], expect, atol=1e-5)
    np.random.seed(3)
    assert t(res(img, 'unit', names))['crop_box'] == (x, y, w, h)  # mmengine's seed repeats it


def test_random_resized_crop_raw_flow_scales_u_v_by_the_zoom():
    f = linear_field(u0=0.5, v0=0.4, a=0.0, b=0.0)  # a uniform motion
    np.random.seed(0)
    out = MEImageRandomResizedCrop(area_range=(0.5, 0.6))(res(f))
    x, y, w, h = out['crop_box']
    np.testing.assert_allclose(out['imgs'][0][..., 0], 0.5 * 28 / w, rtol=1e-5)
    np.testing.assert_allclose(out['imgs'][0][..., 1], 0.4 * 28 / h, rtol=1e-5)


def test_prob_and_errors():
    f = linear_field()
    out = MEImageRandomResizedCrop(prob=0.0)(res(f))
    assert out['crop_box'] is None and np.array_equal(out['imgs'][0], f)
    with pytest.raises(ValueError, match='LoadMEImage'):
        MEImageResize(8)(dict(imgs=[f, f], sample_id='x'))
    with pytest.raises(ValueError, match='area_range'):
        MEImageRandomResizedCrop(area_range=(0.5, 1.5))
    with pytest.raises(ValueError, match='interpolation'):
        MEImageResize(8, interpolation='lanczos9')
