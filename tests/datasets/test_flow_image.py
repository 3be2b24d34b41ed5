"""The flow-image format: per-channel min-max to 0..255, RGB = u, v, strain, two read scales."""
import cv2
import numpy as np
import pytest

from mer_clip.datasets.flow_image import (decode_flow_image, encode_flow_image,
                                          reorder_flow_channels, write_flow_image)


def field(seed=0, h=28, w=28):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(h, w, 3)) * [0.8, 0.5, 0.0]
    f[..., 2] = np.abs(rng.normal(size=(h, w))) * 0.05  # strain >= 0
    return f


def test_encode_spans_0_255_and_raw_decode_restores_within_quantisation():
    f = field()
    img, ranges = encode_flow_image(f)
    assert img.dtype == np.uint8 and img.shape == (28, 28, 3)
    assert (img.reshape(-1, 3).min(0) == 0).all() and (img.reshape(-1, 3).max(0) == 255).all()
    back = decode_flow_image(img, 'raw', ranges)
    for c, name in enumerate(('u', 'v', 'strain')):
        lo, hi = ranges[name]
        assert (lo, hi) == (f[..., c].min(), f[..., c].max())
        step = (hi - lo) / 255
        assert np.abs(back[..., c] - f[..., c]).max() <= step / 2 + 1e-6  # half a grey level


def test_unit_scale_turns_a_sign_change_of_the_flow_into_a_negation():
    """min-max normalisation maps -u to 255 - x: the flip of a stored flow is exact in 'unit'."""
    f = field(1)
    img, _ = encode_flow_image(f)
    neg = f.copy()
    neg[..., 0] *= -1
    img_neg, _ = encode_flow_image(neg)
    assert np.array_equal(img_neg[..., 0].astype(int), 255 - img[..., 0].astype(int))
    unit, unit_neg = decode_flow_image(img), decode_flow_image(img_neg)
    assert unit.min() >= -1 and unit.max() <= 1
    np.testing.assert_allclose(unit_neg[..., 0], -unit[..., 0], atol=1e-6)
    np.testing.assert_array_equal(unit_neg[..., 1:], unit[..., 1:])


def test_constant_channel_and_errors():
    f = field(2)
    f[..., 2] = 0.25
    img, ranges = encode_flow_image(f)
    assert (img[..., 2] == 0).all() and ranges['strain'] == [0.25, 0.25]
    np.testing.assert_allclose(decode_flow_image(img, 'raw', ranges)[..., 2], 0.25)
    with pytest.raises(ValueError, match='NaN'):
        encode_flow_image(np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        encode_flow_image(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match='flow_range'):
        decode_flow_image(img, 'raw', None)
    with pytest.raises(ValueError, match="'unit', 'raw'"):
        decode_flow_image(img, 'pixels')


def test_file_is_rgb_u_v_strain_and_channel_order_option(tmp_path):
    img, _ = encode_flow_image(field(3))
    path = str(tmp_path / 'f.png')
    write_flow_image(path, img)
    bgr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert np.array_equal(bgr[..., ::-1], img)  # OpenCV sees strain, v, u
    rgb = bgr[..., ::-1]
    assert np.array_equal(reorder_flow_channels(rgb, ('u', 'v', 'strain')), img)
    swapped = rgb[..., [1, 0, 2]]  # a file whose RGB order is v, u, strain
    assert np.array_equal(reorder_flow_channels(swapped, ('v', 'u', 'strain')), img)
    with pytest.raises(ValueError, match='each of'):
        reorder_flow_channels(rgb, ('u', 'u', 'strain'))
