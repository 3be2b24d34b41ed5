"""Reading the frames of a clip: a release's numbered frame files, a video, a prepared clip folder.

A frame folder names its files by a ``str.format`` template (``'006_{:05d}.jpg'``, ``'img{}.jpg'``),
so frame numbers are the numbers in the file names (:mod:`mer_clip.datasets.frame_names`); a
video's frames are its 0-based indices. :class:`FolderSource` and :class:`VideoSource` give both the same interface
(``numbers``, ``path``, ``load``, ``load_many``). A JPEG can be decoded at 1/2..1/8 size
(libjpeg's DCT scaling), and :func:`reduction_factor` / :func:`reduced_matrix` say how far a warp
allows it. A prepared clip folder holds ``OUT_TMPL`` frames and its ``CLIP_META``.
"""
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np

from mer_clip.datasets.frame_names import frame_numbers
from mer_clip.utils.image_io import ImageReadError, read_image

#: frame file names of a prepared clip folder (frame numbers of the release kept)
OUT_TMPL = 'img_{:05d}.jpg'
#: what was done to a prepared clip, written last: a clip folder without it is unfinished
CLIP_META = 'clip.json'


class PrepareError(RuntimeError):
    """A clip that cannot be prepared (missing frame folder/file, unreadable image, bad indices)."""


class FolderSource:
    """Frames of a release folder: frame number -> file via ``filename_tmpl``."""

    _FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
              8: cv2.IMREAD_REDUCED_COLOR_8}

    def __init__(self, frame_dir: str, filename_tmpl: str):
        self.frame_dir, self.tmpl = frame_dir, filename_tmpl
        if not osp.isdir(frame_dir):
            raise PrepareError(f'frame folder not found: {frame_dir}')
        self._numbers = frame_numbers(frame_dir, filename_tmpl)

    def numbers(self) -> List[int]:
        return self._numbers

    def path(self, n: int) -> str:
        return osp.join(self.frame_dir, self.tmpl.format(n))

    def load(self, n: int, reduce: int = 1) -> np.ndarray:
        """RGB frame ``n``; ``reduce`` in 1, 2, 4, 8 decodes JPEGs at 1/reduce size (libjpeg's
        DCT scaling: faster, and an anti-aliased downscale)."""
        path = self.path(n)
        try:  # refuses cut-off JPEGs, which cv2.imread would fill with grey
            return read_image(path, self._FLAGS[reduce])
        except ImageReadError as e:
            raise PrepareError(f'cannot read image {path} (missing, truncated, corrupt or not an '
                               f'image): {e}') from None

    def load_many(self, ns: Sequence[int], reduce: int = 1) -> List[np.ndarray]:
        return [self.load(n, reduce) for n in ns]


class VideoSource:
    """Frames of a video file (decord), numbered by 0-based frame index."""

    def __init__(self, video_path: str):
        import decord  # here: needed for video input only, as in mmaction's loaders
        if not osp.isfile(video_path):
            raise PrepareError(f'video not found: {video_path}')
        try:
            self.reader = decord.VideoReader(video_path, num_threads=1)
        except Exception as e:  # decord raises DECORDError
            raise PrepareError(f'cannot open video {video_path}: {e}') from e
        self.video_path = video_path

    def numbers(self) -> List[int]:
        return list(range(len(self.reader)))

    def path(self, n: int) -> str:
        return f'{self.video_path}[{n}]'

    def load(self, n: int) -> np.ndarray:
        return self.reader[int(n)].asnumpy()

    def load_many(self, ns: Sequence[int], reduce: int = 1) -> List[np.ndarray]:
        if reduce != 1:
            raise ValueError('VideoSource decodes at full size only')
        return list(self.reader.get_batch([int(n) for n in ns]).asnumpy())


def reduction_factor(matrix: np.ndarray) -> int:
    """Largest of 1, 2, 4, 8 that keeps the warp's scale (output px per source px) <= 1."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    r = 1
    while r < 8 and scale * r * 2 <= 1.0:
        r *= 2
    return r


def reduced_matrix(matrix: np.ndarray, reduce: int) -> np.ndarray:
    """The transform of a frame decoded at 1/reduce size: reduced pixel x covers full-size
    pixels [r x, r x + r), centre r x + (r - 1) / 2."""
    if reduce == 1:
        return matrix
    a = matrix[:, :2]
    return np.concatenate([a * reduce, (a @ np.full(2, (reduce - 1) / 2) + matrix[:, 2])[:, None]],
                          axis=1)


__all__ = ['CLIP_META', 'OUT_TMPL', 'FolderSource', 'PrepareError', 'VideoSource',
           'reduced_matrix', 'reduction_factor']
