"""mer_clip.utils.image_io: frames are read only when the whole file decodes."""
import cv2
import numpy as np
import pytest

from mer_clip.utils.image_io import ImageReadError, check_image_bytes, read_image


def _jpeg(seed=0, size=48):
    img = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return cv2.imencode('.jpg', img)[1].tobytes()


def test_complete_images_decode_and_cut_off_ones_are_refused(tmp_path):
    data = _jpeg()
    assert check_image_bytes(data) is None
    assert check_image_bytes(data + b'\x00' * 16) is None  # zero padding after EOI
    assert check_image_bytes(data + b'trailing bytes') is None  # decodes fully (Pillow check)
    for frac in (0.4, 0.9, 0.999):
        assert 'truncated' in check_image_bytes(data[:int(len(data) * frac)])
    png = cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    assert check_image_bytes(png) is None and 'truncated PNG' in check_image_bytes(png[:-20])
    assert check_image_bytes(b'') == 'empty file'

    good, cut = tmp_path / 'good.jpg', tmp_path / 'cut.jpg'
    good.write_bytes(data)
    cut.write_bytes(data[:len(data) // 2])
    rgb = read_image(str(good))
    assert rgb.shape == (48, 48, 3) and np.array_equal(rgb, cv2.imread(str(good))[..., ::-1])
    assert read_image(str(good), cv2.IMREAD_REDUCED_COLOR_2).shape == (24, 24, 3)
    with pytest.raises(ImageReadError, match=r'clip 3: .*cut\.jpg: truncated or damaged JPEG'):
        read_image(str(cut), what='clip 3: ')
    with pytest.raises(ImageReadError, match='image not found'):
        read_image(str(tmp_path / 'nope.jpg'))
