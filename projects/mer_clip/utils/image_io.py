"""Read a frame only when the whole file decodes: a cut-off JPEG is an error, not a grey image.

OpenCV's ``imread`` decodes a truncated JPEG without complaint: libjpeg prints "Premature end of
JPEG file" to stderr and fills the missing rows with grey; a file cut off and padded with zeros to
its size (what an interrupted copy can leave) decodes without even that warning. A frame like that
would train and test silently. :func:`read_image` reads the file's bytes, checks that they are
complete and decodes them with OpenCV, refusing any decoder warning; anything else raises
:class:`ImageReadError` naming the file. :func:`check_image_bytes` is the same check without the
image.

A JPEG is checked to its end: its marker structure (:mod:`mer_clip.utils.jpeg_structure`: the
entropy-coded data of the last scan ends in EOI, only ``00`` / ``FF`` padding after it) and a decode
during which libjpeg prints nothing (:func:`mer_clip.compat.imdecode_reporting_warnings`). A PNG
must hold its IEND chunk at the end; other formats: OpenCV's decoder refuses truncated files itself.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional, Tuple

import cv2
import numpy as np

from mer_clip.compat import imdecode_reporting_warnings

from .jpeg_structure import jpeg_structure_problem

_JPEG_SOI = b'\xff\xd8'
_PNG_SIGNATURE, _PNG_IEND = b'\x89PNG\r\n\x1a\n', b'IEND\xaeB`\x82'
#: what :func:`check_image_bytes` decodes a JPEG to: the decoder still reads all the entropy-coded
#: data (so it warns as at full size) but skips most of the rest of the work
_CHECK_FLAGS = cv2.IMREAD_REDUCED_GRAYSCALE_8


class ImageReadError(ValueError):
    """A frame file that is missing, truncated or not an image; the message names the file."""


class ImageNotFoundError(FileNotFoundError, ImageReadError):
    """The image file does not exist (both a ``FileNotFoundError`` and an ``ImageReadError``)."""


def _structure_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is not a whole image file, judged from its bytes alone (no decoding)."""
    if not data:
        return 'empty file'
    if data.startswith(_JPEG_SOI):
        problem = jpeg_structure_problem(data)
        return None if problem is None else f'truncated or damaged JPEG ({problem})'
    if data.startswith(_PNG_SIGNATURE):
        return None if _PNG_IEND in data[-64:] else 'truncated PNG (no IEND chunk at the end)'
    return None


def _decode(data: bytes, flags: int) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """``(cv2.imdecode(data, flags), None)``, or ``(None, why)`` when libjpeg warned while decoding
    the JPEG ``data`` (the image it returns then holds made-up rows)."""
    if not data.startswith(_JPEG_SOI):
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags), None
    img, warning = imdecode_reporting_warnings(data, flags)
    if warning:
        said = ' / '.join(warning.splitlines())
        return None, f'truncated or damaged JPEG (libjpeg warns: {said})'
    return img, None


def check_image_bytes(data: bytes) -> Optional[str]:
    """Why ``data`` is not a complete image file, or None when it is.

    JPEG: the marker structure ends in EOI with only padding after it (the rule and its reason:
    :mod:`mer_clip.utils.jpeg_structure`), and it decodes without a warning from libjpeg. PNG: the
    IEND chunk is at the end. Other formats: OpenCV's decoder refuses truncated files itself.
    """
    problem = _structure_problem(data)
    if problem is None and data.startswith(_JPEG_SOI):
        img, problem = _decode(data, _CHECK_FLAGS)
        if img is None and problem is None:
            problem = 'cannot decode the JPEG (corrupt)'
    return problem


def read_image(path: str, flags: int = cv2.IMREAD_COLOR, rgb: bool = True,
               what: str = '') -> np.ndarray:
    """Decode a complete image file (H, W, 3) uint8, RGB by default (``flags`` as ``cv2.imread``).

    The checks of :func:`check_image_bytes`, with the file decoded once.

    Raises:
        ImageReadError: the file is truncated / partially decodable or not an image;
            ``what`` (e.g. ``'sample s01_003: '``) starts the message.
        ImageNotFoundError: the file does not exist.
    """
    if not osp.isfile(path):
        raise ImageNotFoundError(f'{what}image not found: {path}')
    with open(path, 'rb') as f:
        data = f.read()
    problem = _structure_problem(data)
    if problem is not None:
        raise ImageReadError(f'{what}{path}: {problem}; re-extract or re-copy this frame')
    img, problem = _decode(data, flags)
    if problem is not None:
        raise ImageReadError(f'{what}{path}: {problem}; re-extract or re-copy this frame')
    if img is None:
        raise ImageReadError(f'{what}cannot decode image {path} (corrupt or not an image); '
                             're-extract this frame')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if rgb and img.ndim == 3 else img


#: decoded image files kept by :func:`read_image_cached` (``LoadMEImage(cache=True)``), shared by
#: the whole process (so the folds that one in-process LOSO worker runs decode each file once):
#: ``(path, mtime_ns, size) -> read-only uint8 array``, least recently used dropped first
_CACHE: 'OrderedDict[tuple, np.ndarray]' = OrderedDict()
_CACHE_BYTES = [0]
CACHE_MAX_BYTES = 512 * 1024 ** 2


def read_image_cached(path: str, what: str) -> np.ndarray:
    """``read_image(path, rgb=True)`` through the process-wide cache ``_CACHE``. The key
    holds the file's modification time and size: a rewritten file is read again."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    img = _CACHE.get(key)
    if img is not None:
        _CACHE.move_to_end(key)
        return img
    img = read_image(path, rgb=True, what=what)
    img.flags.writeable = False  # shared: the transforms after this one get copies
    _CACHE[key] = img
    _CACHE_BYTES[0] += img.nbytes
    while _CACHE_BYTES[0] > CACHE_MAX_BYTES and len(_CACHE) > 1:
        _CACHE_BYTES[0] -= _CACHE.popitem(last=False)[1].nbytes
    return img


def clear_image_cache() -> None:
    """Empty the cache of :func:`read_image_cached`."""
    _CACHE.clear()
    _CACHE_BYTES[0] = 0


__all__ = ['ImageNotFoundError', 'ImageReadError', 'check_image_bytes', 'clear_image_cache',
           'read_image', 'read_image_cached']
