"""Read a frame only when the whole file decodes: a cut-off JPEG is an error, not a grey image.

OpenCV's ``imread`` decodes a truncated JPEG without complaint: libjpeg prints "Premature end of
JPEG file" to stderr and fills the missing rows with grey. A frame cut off by an interrupted copy
or extraction would then train and test silently. :func:`read_image` reads the file's bytes,
checks that they are complete (:func:`check_image_bytes`: a JPEG ends with its EOI marker, a PNG
with its IEND chunk; where the end is unclear, Pillow decodes the file strictly) and decodes them
with OpenCV; anything else raises :class:`ImageReadError` naming the file.
"""
import io
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageFile

_JPEG_SOI, _JPEG_EOI = b'\xff\xd8', b'\xff\xd9'
_PNG_SIGNATURE, _PNG_IEND = b'\x89PNG\r\n\x1a\n', b'IEND\xaeB`\x82'


class ImageReadError(ValueError):
    """A frame file that is missing, truncated or not an image; the message names the file."""


class ImageNotFoundError(FileNotFoundError, ImageReadError):
    """The image file does not exist (both a ``FileNotFoundError`` and an ``ImageReadError``)."""


def _strict_pillow_error(data: bytes) -> Optional[str]:
    """Pillow's complaint when it decodes ``data`` without tolerating truncation, or None."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global that some libraries switch on
        return 'cannot check (PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set)'
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises OSError / SyntaxError / ValueError
        return str(e) or type(e).__name__
    return None


def check_image_bytes(data: bytes) -> Optional[str]:
    """Why ``data`` is not a complete image file, or None when it is.

    JPEG: the EOI marker ends the file (trailing zero padding allowed; a cut-off file lacks it, and
    entropy-coded data cannot contain it). A JPEG without it at the end (e.g. trailing bytes after
    the image) is decoded strictly by Pillow instead. PNG: the IEND chunk is present. Other formats:
    OpenCV's decoder refuses truncated files itself.
    """
    if not data:
        return 'empty file'
    if data.startswith(_JPEG_SOI):
        if data.rstrip(b'\x00').endswith(_JPEG_EOI):
            return None
        problem = _strict_pillow_error(data)
        return None if problem is None else f'truncated or damaged JPEG ({problem})'
    if data.startswith(_PNG_SIGNATURE):
        return None if _PNG_IEND in data[-64:] else 'truncated PNG (no IEND chunk at the end)'
    return None


def read_image(path: str, flags: int = cv2.IMREAD_COLOR, rgb: bool = True,
               what: str = '') -> np.ndarray:
    """Decode a complete image file (H, W, 3) uint8, RGB by default (``flags`` as ``cv2.imread``).

    Raises:
        ImageReadError: the file is truncated / partially decodable or not an image;
            ``what`` (e.g. ``'sample s01_003: '``) starts the message.
        ImageNotFoundError: the file does not exist.
    """
    if not osp.isfile(path):
        raise ImageNotFoundError(f'{what}image not found: {path}')
    with open(path, 'rb') as f:
        data = f.read()
    problem = check_image_bytes(data)
    if problem is not None:
        raise ImageReadError(f'{what}{path}: {problem}; re-extract or re-copy this frame')
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
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
