"""MEFlip: a horizontal flip mirrors every frame and swaps L/R of the AUs (and so the prompt)."""
import numpy as np
import pytest
from mmcv.transforms import Compose

import mer_clip  # noqa: F401
from mmaction.registry import TRANSFORMS

from mer_clip.au.codes import AUCode
from mer_clip.datasets.transforms.flip import MEFlip, swap_au_sides

AUS = [AUCode(4), AUCode(12, 'R', 'B'), AUCode(14, 'L')]


def clip_results(au_list=AUS):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(4)]
    return dict(imgs=[f.copy() for f in imgs], img_shape=(6, 8), au_list=list(au_list),
                sample_id='006_1_2'), imgs


def test_flip_mirrors_all_frames_and_swaps_sides():
    results, imgs = clip_results()
    out = TRANSFORMS.build(dict(type='MEFlip', flip_ratio=1.0))(results)
    assert out['flip'] is True
    for got, orig in zip(out['imgs'], imgs):
        assert np.array_equal(got, orig[:, ::-1])
    assert out['au_list'] == [AUCode(4), AUCode(12, 'L', 'B'), AUCode(14, 'R')]


def test_no_flip_vertical_flip_and_sort_order():
    results, imgs = clip_results()
    out = MEFlip(flip_ratio=0.0)(results)
    assert out['flip'] is False and out['au_list'] == AUS
    assert all(np.array_equal(a, b) for a, b in zip(out['imgs'], imgs))
    results, _ = clip_results()
    out = MEFlip(flip_ratio=1.0, direction='vertical')(results)
    assert out['au_list'] == AUS  # up/down mirror keeps left and right
    # L12 + R12B: after the swap the canonical (AU, side) order still holds
    swapped = swap_au_sides([AUCode(12, 'L'), AUCode(12, 'R', 'B')])
    assert swapped == [AUCode(12, 'L', 'B'), AUCode(12, 'R')]


def test_only_aucodes_are_flipped():
    assert swap_au_sides([AUCode(12, 'R'), AUCode(1)]) == [AUCode(1), AUCode(12, 'L')]
    with pytest.raises(TypeError, match='sample x'):
        swap_au_sides(['R12'], where='sample x')
    # the JSON form is the annotation file's: the dataset gives AUCodes
    with pytest.raises(TypeError, match=r'sample 006_1_2: an AU label must be an AUCode'):
        MEFlip(flip_ratio=1.0)(clip_results([{'au': 12, 'side': 'R', 'intensity': None}])[0])


def test_prompt_names_the_mirrored_side():
    pipeline = Compose([TRANSFORMS.build(dict(type='MEFlip', flip_ratio=1.0)),
                        TRANSFORMS.build(dict(type='GenerateAUPrompt', test_mode=True))])
    results, _ = clip_results([AUCode(12, 'R')])
    out = pipeline(results)
    assert 'left corner of the lips' in out['au_prompt']
    assert 'right' not in out['au_prompt']
    unflipped, _ = clip_results([AUCode(12, 'R')])
    ref = TRANSFORMS.build(dict(type='GenerateAUPrompt', test_mode=True))(unflipped)
    assert 'right corner of the lips' in ref['au_prompt']


def test_flip_after_prompt_is_refused():
    pipeline = Compose([TRANSFORMS.build(dict(type='GenerateAUPrompt', test_mode=True)),
                        TRANSFORMS.build(dict(type='MEFlip', flip_ratio=1.0))])
    results, _ = clip_results()
    with pytest.raises(RuntimeError, match='006_1_2.*before GenerateAUPrompt'):
        pipeline(results)


# ----------------------------------------------------------------------- image modality (flows)
def _flow_results(field, au_list=AUS):
    from mer_clip.datasets.flow_image import decode_flow_image, encode_flow_image
    img = decode_flow_image(encode_flow_image(field)[0])  # the stored image, 'unit' scale
    return dict(imgs=[img], channels=('u', 'v', 'strain'), flow_values='unit',
                modality='flow', img_shape=img.shape[:2], au_list=list(au_list),
                sample_id='casme2/sub01_EP02_01f')


def _motion(h=28, w=28):
    """A blob on the image's left moving right and up, strain where it moves."""
    ys, xs = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xs - 8.0) ** 2 + (ys - 10.0) ** 2) / 20.0)
    return np.dstack([0.8 * blob, -0.3 * blob, np.abs(np.gradient(blob)[1])])


def test_flip_of_a_flow_image_equals_the_flow_of_the_mirrored_face():
    """Mirror + u -> -u: the stored flow image of the mirrored motion, exactly."""
    from mer_clip.datasets.flow_image import decode_flow_image, encode_flow_image
    f = _motion()
    out = MEFlip(flip_ratio=1.0)(_flow_results(f))
    mirrored = f[:, ::-1].copy()
    mirrored[..., 0] *= -1  # a movement to the right becomes a movement to the left
    expect = decode_flow_image(encode_flow_image(mirrored)[0])
    np.testing.assert_allclose(out['imgs'][0], expect, atol=1e-6)
    assert out['imgs'][0][..., 0].min() < -0.5  # the blob now moves left (u < 0 at the blob)
    assert out['au_list'][1] == AUCode(12, 'L', 'B')  # AUs swapped too


def test_flow_flip_twice_is_identity_and_vertical_negates_v():
    f = _motion()
    r = _flow_results(f)
    orig = r['imgs'][0].copy()
    twice = MEFlip(flip_ratio=1.0)(MEFlip(flip_ratio=1.0)(r))
    np.testing.assert_array_equal(np.abs(twice['imgs'][0] - orig) < 1e-7, True)
    out = MEFlip(flip_ratio=1.0, direction='vertical')(_flow_results(f))
    np.testing.assert_allclose(out['imgs'][0][..., 1], -orig[::-1, :, 1], atol=1e-6)
    np.testing.assert_allclose(out['imgs'][0][..., 0], orig[::-1, :, 0], atol=1e-6)
    assert out['au_list'] == AUS  # only a horizontal flip swaps sides
