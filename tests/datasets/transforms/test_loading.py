import os

import cv2
import numpy as np
import pytest

from mer_clip.datasets.transforms import LoadMEFrames, LoadMEVideo


def _write_frames(folder, numbers, size=(12, 16)):
    os.makedirs(folder, exist_ok=True)
    for n in numbers:
        img = np.zeros(size + (3, ), np.uint8)
        img[..., 0] = n  # B channel in OpenCV order
        img[..., 2] = 200  # R channel
        cv2.imwrite(os.path.join(folder, f'img{n}.png'), img)


def test_loads_rgb_frames_in_order_with_repeats(tmp_path):
    _write_frames(tmp_path / 'clip', range(5, 10))
    res = LoadMEFrames()(dict(frame_dir=str(tmp_path / 'clip'), filename_tmpl='img{}.png',
                              frame_inds=np.array([5, 5, 7, 9])))
    imgs = res['imgs']
    assert len(imgs) == 4 and imgs[0].dtype == np.uint8 and imgs[0].shape == (12, 16, 3)
    assert [int(im[0, 0, 2]) for im in imgs] == [5, 5, 7, 9]  # RGB: blue is the last channel
    assert int(imgs[0][0, 0, 0]) == 200
    assert res['img_shape'] == (12, 16) and res['original_shape'] == (12, 16)


def test_missing_frame_names_sample_and_file(tmp_path):
    _write_frames(tmp_path / 'clip', [1, 2])
    with pytest.raises(FileNotFoundError, match=r'sample s7: frame 3 not found at .*img3.png'):
        LoadMEFrames()(dict(frame_dir=str(tmp_path / 'clip'), filename_tmpl='img{}.png',
                            frame_inds=np.array([1, 3]), sample_id='s7'))


def test_corrupt_frame_names_file(tmp_path):
    _write_frames(tmp_path / 'clip', [1])
    (tmp_path / 'clip' / 'img2.png').write_bytes(b'\x89PNG garbage')
    with pytest.raises(ValueError, match=r'cannot decode image .*img2.png'):
        LoadMEFrames()(dict(frame_dir=str(tmp_path / 'clip'), filename_tmpl='img{}.png',
                            frame_inds=np.array([1, 2]), sample_id='s8'))


def test_video_frames_match_indices(tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 25, (32, 24))
    for n in range(10):
        writer.write(np.full((24, 32, 3), n * 20, np.uint8))
    writer.release()
    res = LoadMEVideo()(dict(video=path, frame_inds=np.array([0, 4, 9])))
    means = [float(im.mean()) for im in res['imgs']]
    assert np.allclose(means, [0, 80, 180], atol=6)
    with pytest.raises(IndexError, match='has 10 frames'):
        LoadMEVideo()(dict(video=path, frame_inds=np.array([0, 10])))


def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path):
    """OpenCV decodes the first 40% of a cut-off JPEG and fills the rest with grey, silently."""
    folder = tmp_path / 'clip'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in (1, 2):
        ok, buf = cv2.imencode('.jpg', rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
        data = buf.tobytes()
        (folder / f'img{n}.jpg').write_bytes(data if n == 1 else data[:int(len(data) * 0.4)])
    assert cv2.imread(str(folder / 'img2.jpg')) is not None  # what used to be loaded
    res = dict(frame_dir=str(folder), filename_tmpl='img{}.jpg', sample_id='s9')
    LoadMEFrames()(dict(res, frame_inds=np.array([1, 1])))
    with pytest.raises(ValueError, match=r'sample s9: .*img2\.jpg: truncated or damaged JPEG'):
        LoadMEFrames()(dict(res, frame_inds=np.array([1, 2])))
