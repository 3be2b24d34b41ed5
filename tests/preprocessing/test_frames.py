"""Reading clip frames: folder and video sources, reduced decoding (frame names:
tests/datasets/test_frame_names.py)."""
import cv2
import numpy as np
import pytest

from mer_clip.preprocessing.face_align import FaceAligner
from mer_clip.preprocessing.frames import (FolderSource, PrepareError, reduced_matrix,
                                           reduction_factor)


def test_folder_source_reads_the_frames_its_template_names(tmp_path):
    for name in ('img_00007.jpg', 'img_00010.jpg', 'img_7.jpg', 'img_00008.png', 'notes.txt'):
        (tmp_path / name).write_bytes(b'')
    with pytest.raises(PrepareError, match='frame folder not found'):
        FolderSource(str(tmp_path / 'missing'), 'img_{:05d}.jpg')
    src = FolderSource(str(tmp_path), 'img_{:05d}.jpg')
    assert src.numbers() == [7, 10]
    with pytest.raises(PrepareError, match='img_00007.jpg'):  # an empty file is no image
        src.load(7)


def test_reduced_jpeg_decode_keeps_the_transform(tmp_path):
    """Big frames are decoded at 1/r size with the matrix adapted: same geometry (sub-0.1 px)."""
    skimage_data = pytest.importorskip('skimage.data')
    big = cv2.resize(skimage_data.astronaut(), (1536, 1536), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 6)  # low-pass, so resampling differences are small
    cv2.imwrite(str(tmp_path / 'f_1.jpg'), cv2.cvtColor(big, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 98])
    al = FaceAligner(size=128)
    m = np.array([[0.15, -0.03, 10.0], [0.03, 0.15, -40.0]])  # scale ~0.153: decode at 1/4
    r = reduction_factor(m)
    assert r == 4 and reduction_factor(m * 10) == 1
    src = FolderSource(str(tmp_path), 'f_{}.jpg')
    full = al.warp(src.load(1), m)
    small = al.warp(src.load(1, r), reduced_matrix(m, r))
    g = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float64) for x in (full, small)]
    (dx, dy), _ = cv2.phaseCorrelate(g[0], g[1])
    assert abs(dx) < 0.1 and abs(dy) < 0.1
    assert np.abs(g[0] - g[1]).mean() < 2.0
