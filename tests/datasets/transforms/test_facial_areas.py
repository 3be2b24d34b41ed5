"""CropFacialAreas: landmarks scaled from the apex image to the flow image, HTNet's clamping, the
2 x 2 mosaic, the flip, the counted fallback rule and the errors."""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.logging import MMLogger

import mer_clip  # noqa: F401
from mmaction.registry import TRANSFORMS

from mer_clip.datasets.transforms.facial_areas import (HTNET_FALLBACK_28PX, area_centres,
                                                        landmarks_in_image)

# fabricated five points on a 224 x 224 apex image: eyes, nose, mouth corners
POINTS = [[72.0, 88.0], [152.0, 90.0], [112.0, 130.0], [84.0, 170.0], [140.0, 172.0]]


def landmarks(points=POINTS, size=(224, 224)):
    return dict(points=[list(p) for p in points], image='apex_image', size=list(size),
                stage='fabricated')


def flow_results(lm=None, sample='s1'):
    # each pixel holds its own (x, y) so the crops can be read back
    ys, xs = np.mgrid[0:28, 0:28].astype(np.float32)
    img = np.stack([xs, ys, xs * 0 + 0.5], axis=2)  # (28, 28, 3): u = x, v = y, strain
    out = dict(imgs=[img], img_shape=(28, 28), sample_id=sample, channels=('u', 'v', 'strain'),
               modality='flow')
    if lm is not None:
        out['landmarks5'] = lm
    return out


def test_points_scale_from_the_apex_to_the_flow_image():
    pts = landmarks_in_image(landmarks(), (28, 28), 's')
    assert np.allclose(pts, np.asarray(POINTS) / 8)  # 224 -> 28
    pts = landmarks_in_image(landmarks(size=(448, 224)), (28, 28), 's')  # per axis
    assert np.allclose(pts[:, 0], np.asarray(POINTS)[:, 0] / 16)
    # eyes and mouth corners, clamped to 7..21 and truncated as HTNet's code
    c = area_centres(np.array([[1.0, 1.0], [27.5, 9.9], [0, 0], [10.7, 30.0], [20.2, 21.0]]),
                     (28, 28), 14)
    assert c.tolist() == [[7, 7], [21, 9], [10, 21], [20, 21]]


def test_mosaic_holds_the_four_areas_in_order():
    out = TRANSFORMS.build(dict(type='CropFacialAreas'))(flow_results(landmarks()))
    mosaic = out['imgs'][0]
    assert mosaic.shape == (28, 28, 3) and out['img_shape'] == (28, 28)
    assert out['landmarks_source'] == 'landmarks5'
    # centres 224 -> 28: left eye (9, 11), right eye (19, 11), mouth corners (10, 21), (17, 21)
    assert out['area_centres'].tolist() == [[9, 11], [19, 11], [10, 21], [17, 21]]
    for (r, c), (x, y) in zip([(0, 0), (0, 14), (14, 0), (14, 14)], out['area_centres']):
        area = mosaic[r:r + 14, c:c + 14]
        assert area[0, 0, 0] == x - 7 and area[0, 0, 1] == y - 7  # top-left pixel's (x, y)
        assert area[13, 13, 0] == x + 6 and area[13, 13, 1] == y + 6


def test_flipping_the_mosaic_is_the_mosaic_of_the_mirrored_face():
    """MEFlip after the crop: the eye areas swap and mirror, u is negated (mirrored flow); exact
    for centres on whole pixels (the truncation moves others by up to one pixel)."""
    rng = np.random.default_rng(0)
    img = rng.normal(size=(28, 28, 3)).astype(np.float32)
    pts = np.floor(np.asarray(POINTS) / 8)
    crop = TRANSFORMS.build(dict(type='CropFacialAreas'))
    base = dict(flow_results(), imgs=[img.copy()], landmarks5=landmarks(points=pts * 8))
    flipped = Compose([crop, TRANSFORMS.build(dict(type='MEFlip', flip_ratio=1.0))])(base)
    mirror_img = img[:, ::-1].copy()
    mirror_img[..., 0] *= -1
    # the mirrored face: x -> 28 - x, left and right exchanged
    mpts = np.stack([28 - pts[:, 0], pts[:, 1]], 1)[[1, 0, 2, 4, 3]]
    mirrored = crop(dict(flow_results(), imgs=[mirror_img],
                         landmarks5=landmarks(points=mpts * 8)))
    assert np.allclose(flipped['imgs'][0], mirrored['imgs'][0])


def test_missing_landmarks_follow_the_counted_fallback_rule(caplog):
    MMLogger.get_instance('test_facial_areas')
    crop = TRANSFORMS.build(dict(type='CropFacialAreas'))
    outs = [crop(flow_results(sample=f's{i}')) for i in range(5)]
    crop(flow_results(sample='s0'))  # the same sample again is not counted twice
    assert crop.fallback_samples == {f's{i}' for i in range(5)}
    assert all(o['landmarks_source'] == 'fallback' for o in outs)
    expected = area_centres(np.asarray(HTNET_FALLBACK_28PX), (28, 28), 14)
    assert outs[0]['area_centres'].tolist() == expected.tolist() == \
        [[9, 11], [21, 10], [10, 21], [20, 21]]
    # a sample with landmarks is not counted
    crop(flow_results(landmarks(), sample='with'))
    assert 'with' not in crop.fallback_samples


def test_fallback_is_logged_with_its_count(capsys):
    logger = MMLogger.get_instance('test_facial_areas_log', log_level='WARNING')
    crop = TRANSFORMS.build(dict(type='CropFacialAreas'))
    for i in range(4):
        crop(flow_results(sample=f'x{i}'))
    err = capsys.readouterr()
    text = err.out + err.err
    assert logger is MMLogger.get_current_instance()
    assert "1 sample(s) so far have no 'landmarks5'" in text and '4 sample(s)' in text
    assert '3 sample(s)' not in text  # logged at 1, 2, 4, 8, ...


def test_errors_name_the_sample_and_the_fix():
    strict = TRANSFORMS.build(dict(type='CropFacialAreas', fallback=None))
    with pytest.raises(KeyError, match='sample s9.*add_landmarks.py'):
        strict(flow_results(sample='s9'))
    crop = TRANSFORMS.build(dict(type='CropFacialAreas'))
    with pytest.raises(ValueError, match='sample s1: landmarks5 needs 5 finite'):
        crop(flow_results(landmarks(points=POINTS[:4])))
    with pytest.raises(ValueError, match="given on 'flow_image'"):
        crop(flow_results(dict(landmarks(), image='flow_image')))
    with pytest.raises(ValueError, match='lacks'):
        crop(flow_results(dict(points=POINTS)))
    with pytest.raises(ValueError, match='fallback must be'):
        TRANSFORMS.build(dict(type='CropFacialAreas', fallback='mean'))
