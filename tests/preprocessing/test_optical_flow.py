"""Onset-apex optical flow and strain on synthetic clips with a known motion field.

A smooth random texture is warped by a known affine field (a sub-pixel shift, or a small
deformation with a known strain) and the flow recovered from the two frames is compared with the
field. Bounds are on the end-point error (EPE) in pixels, away from a 16-pixel border. Measured on
3 texture seeds (development machine, OpenCV 5.1): TV-L1 mean EPE 0.007-0.009 px (max 0.033),
Farneback 0.046-0.047 px (max 0.117); strain of the deformation (true 0.0144): TV-L1 median
0.0143-0.0146, mean abs. error 0.0017-0.0018; Farneback median 0.0150-0.0152, error 0.0043-0.0046.
"""
import cv2
import numpy as np
import pytest

from mer_clip.preprocessing import optical_flow
from mer_clip.preprocessing.optical_flow import (compute_flow, flow_field, flow_image,
                                                 has_tvl1, optical_strain, resolve_method)

B = 16  # border left out of the error (the field leaves the image there)


def texture(n=128, seed=0):
    x = np.random.default_rng(seed).random((n, n)).astype(np.float32)
    x = cv2.GaussianBlur(x, (0, 0), 2.0)
    return (x - x.min()) / (x.max() - x.min()) * 200 + 25


def warp(img, A, t):
    """apex(q + A q + t) = onset(q), q from the image centre; returns apex and the true flow."""
    n = img.shape[0]
    c = (n - 1) / 2
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64)
    grid = np.stack([xs - c, ys - c], -1)
    src = (grid - t) @ np.linalg.inv(np.eye(2) + A).T  # exact inverse of the affine map
    apex = cv2.remap(img, (src[..., 0] + c).astype(np.float32),
                     (src[..., 1] + c).astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)
    return apex, (grid @ A.T + t).astype(np.float32)


def u8(x):
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


SHIFT = (np.zeros((2, 2)), np.array([0.7, -0.4]))
DEFORM = (np.array([[0.012, 0.004], [-0.003, -0.008]]), np.array([0.3, 0.2]))
STRAIN = np.sqrt(0.012 ** 2 + 0.008 ** 2 + 0.5 * (0.004 - 0.003) ** 2)
# method: (mean EPE, 95th percentile EPE, |median strain - true| / true, mean strain error / true)
BOUNDS = dict(tvl1=(0.03, 0.06, 0.10, 0.25), farneback=(0.10, 0.20, 0.15, 0.50))
METHODS = [pytest.param('tvl1', marks=pytest.mark.skipif(
    not has_tvl1(), reason='cv2.optflow absent (opencv-contrib-python not installed)')),
    'farneback']


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('motion', [SHIFT, DEFORM], ids=['shift', 'deform'])
def test_recovered_flow_within_epe_bound(method, motion):
    onset = texture()
    apex, true = warp(onset, *motion)
    flow, ran = compute_flow(u8(onset), u8(apex), method)
    assert ran == method and flow.shape == (128, 128, 2) and flow.dtype == np.float32
    epe = np.linalg.norm(flow - true, axis=-1)[B:-B, B:-B]
    mean_bound, p95_bound = BOUNDS[method][:2]
    assert epe.mean() < mean_bound, (method, epe.mean())
    assert np.percentile(epe, 95) < p95_bound, (method, np.percentile(epe, 95))


@pytest.mark.parametrize('method', METHODS)
def test_strain_of_a_known_affine_field(method):
    onset = texture(seed=1)
    apex, _ = warp(onset, *DEFORM)
    flow, _ = compute_flow(u8(onset), u8(apex), method)
    strain = optical_strain(flow)[B:-B, B:-B]
    median_bound, mean_bound = BOUNDS[method][2:]
    assert abs(np.median(strain) - STRAIN) < median_bound * STRAIN
    assert np.abs(strain - STRAIN).mean() < mean_bound * STRAIN


def test_strain_formula_on_exact_fields():
    ys, xs = np.mgrid[0:20, 0:20].astype(np.float32)
    a, b, c, d = 0.03, -0.02, 0.01, 0.05  # u = a x + b y, v = c x + d y
    flow = np.dstack([a * xs + b * ys, c * xs + d * ys])
    np.testing.assert_allclose(optical_strain(flow), np.sqrt(a * a + d * d + 0.5 * (b + c) ** 2),
                               rtol=1e-5)
    rot = np.dstack([-0.02 * ys, 0.02 * xs])  # a small rotation deforms nothing
    np.testing.assert_allclose(optical_strain(rot), 0, atol=1e-7)


def test_flow_image_at_28_keeps_the_motion_in_pixels_of_the_small_grid():
    onset = texture(seed=2)
    apex, _ = warp(onset, *SHIFT)
    field, method = flow_field(u8(onset), u8(apex), (28, 28))
    inner = field[4:-4, 4:-4]
    np.testing.assert_allclose(inner[..., 0].mean(), 0.7 * 28 / 128, atol=0.01)
    np.testing.assert_allclose(inner[..., 1].mean(), -0.4 * 28 / 128, atol=0.01)
    out = flow_image(u8(onset), u8(apex), (28, 28))
    assert out.image.shape == (28, 28, 3) and out.image.dtype == np.uint8
    assert out.method == method and out.source_size == (128, 128)
    lo, hi = out.ranges['u']
    assert lo <= inner[..., 0].mean() <= hi


def test_method_choice_and_fallback(monkeypatch):
    assert resolve_method('farneback') == 'farneback'
    with pytest.raises(ValueError, match='auto'):
        resolve_method('deepflow')
    with pytest.raises(ValueError, match='differ in size'):
        compute_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
    monkeypatch.setattr(optical_flow, 'has_tvl1', lambda: False)  # an OpenCV without contrib
    assert resolve_method('auto') == 'farneback'
    with pytest.raises(RuntimeError, match='opencv-contrib-python'):
        resolve_method('tvl1')
    frame = u8(texture(32))
    assert compute_flow(frame, frame)[1] == 'farneback'
