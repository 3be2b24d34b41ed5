"""One place that turns an image file into pixels or a clear error naming the sample and the file.

OpenCV's ``imread`` returns None for a missing, unreadable, truncated or non-image file and says
nothing more; every loader of this package that decodes a file goes through :func:`read_image` so
that each of these cases raises an error naming the sample, the file and what to do.
"""
import os.path as osp

import cv2
import numpy as np


def read_image(path: str, sample: str, what: str = 'image',
               flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Decode ``path`` with ``cv2.imdecode(flags)``; channels as OpenCV returns them (BGR).

    Raises:
        FileNotFoundError: the file does not exist (message names ``sample`` and ``what``).
        ValueError: the file is empty, truncated or not an image.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'sample {sample}: {what} not found at {path}. Check the path in '
                                'the annotation file and data_prefix in the config.')
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise ValueError(f'sample {sample}: cannot read {what} {path}: {err}') from err
    img = cv2.imdecode(data, flags) if data.size else None
    if img is None:
        raise ValueError(f'sample {sample}: cannot decode {what} {path} ({data.size} bytes: empty, '
                         'truncated or not an image); regenerate or re-download this file.')
    return img
