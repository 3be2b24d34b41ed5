"""HTNet's four facial areas: cut from the flow image around landmarks and tiled 2 x 2.

Landmarks: the record's ``landmarks5`` (``tools/data/add_landmarks.py``)::

    "landmarks5": {"points": [[x, y] x 5], "image": "apex_image", "size": [W, H], "stage": ...}

in pixels of the apex image, ordered left eye centre, right eye centre, nose tip, left mouth
corner, right mouth corner (image left / right), the order of MTCNN's five points that HTNet's
authors detect. The flow image is the same face framing as the apex image, smaller (the composite
release: both cut by the same face box; HTNet's authors take their landmarks on the apex image
resized to the flow's 28 x 28), so a point scales by flow size / apex size per axis.

Areas, as the authors' released code (``main_HTNet.py``) cuts them: a square of ``area_size`` (14)
centred on the left eye, the right eye, the left mouth corner and the right mouth corner (the nose
tip is unused), each centre clamped to [area/2, side - area/2] (7..21 on 28 px) so that every area
lies inside the image, and truncated to an integer pixel. The mosaic, row-major::

    left eye  | right eye          (H, W, C) flow image -> (2a, 2a, C) mosaic (28 x 28 for a = 14)
    left lip  | right lip

A horizontal flip of the mosaic (``MEFlip`` after this transform) is the mosaic of the mirrored
face: the eyes and the lips swap sides and each area is mirrored (exactly for centres on whole
pixels; the truncation moves other centres of the mirrored face by up to one pixel).

One difference from the released code, which indexes the image rows with a point's x and the
columns with its y (so its areas are cut around transposed centres: the area it cuts for the
right eye's point lies near the left mouth corner): rows are y here, as the paper describes them.

A sample without ``landmarks5`` follows one documented rule: its areas are cut around HTNet's own
fallback points (the five points the authors' code assigns when MTCNN finds no face, given in
28 x 28 pixels and used here as fractions of the image side). Every such sample is counted and the
count logged (first sample, then at 2, 4, 8, ... samples), never silent; ``fallback=None`` makes a
missing ``landmarks5`` an error naming the sample. On the composite release the fallback is a
rough guess: tools/data/add_landmarks.py finds all 442 faces, and their mean eye centres on the
28 x 28 image lie at y = 7.6-7.9 (SMIC, CASME II) and 10.8 (SAMM), HTNet's fallback at 11.1; with
the clamp to 7..21, 430 of the 442 samples have at least one area centre moved inwards.
"""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger

from mmaction.registry import TRANSFORMS

#: the order of the five points of ``landmarks5``
LANDMARK_NAMES = ('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth')
#: the points each area is centred on, in mosaic order (row-major)
AREA_POINTS = (0, 1, 3, 4)
#: HTNet's fallback landmarks (authors' main_HTNet.py, for faces MTCNN misses), 28 x 28 pixels
HTNET_FALLBACK_28PX = ((9.528073, 11.062551), (21.396168, 10.919773), (15.380184, 17.380562),
                       (10.255435, 22.121233), (20.583706, 22.25584))


def landmarks_in_image(landmarks: dict, image_hw: Tuple[int, int], sample: str) -> np.ndarray:
    """``landmarks5`` record -> (5, 2) x, y in pixels of an (H, W) image of the same framing."""
    if not isinstance(landmarks, dict):
        raise ValueError(f'sample {sample}: landmarks5 must be a dict with points/image/size, got '
                         f'{type(landmarks).__name__}; regenerate it with '
                         'tools/data/add_landmarks.py')
    missing = [k for k in ('points', 'image', 'size') if k not in landmarks]
    if missing:
        raise ValueError(f'sample {sample}: landmarks5 lacks {missing}; regenerate it with '
                         'tools/data/add_landmarks.py')
    if landmarks['image'] != 'apex_image':
        raise ValueError(f"sample {sample}: landmarks5 are given on {landmarks['image']!r}; "
                         "CropFacialAreas reads points on the apex image ('apex_image')")
    points = np.asarray(landmarks['points'], dtype=np.float64)
    size = np.asarray(landmarks['size'], dtype=np.float64)
    if points.shape != (5, 2) or size.shape != (2, ) or not np.all(np.isfinite(points)) \
            or not np.all(size > 0):
        raise ValueError(f'sample {sample}: landmarks5 needs 5 finite [x, y] points and a '
                         f'positive size [W, H], got points of shape {points.shape} and size '
                         f"{landmarks['size']}; regenerate it with tools/data/add_landmarks.py")
    h, w = image_hw
    return points * np.array([w, h]) / size  # (5, 2): apex pixels -> image pixels


def area_centres(points: np.ndarray, image_hw: Tuple[int, int], area_size: int) -> np.ndarray:
    """(5, 2) x, y points -> (4, 2) integer x, y area centres inside the image (HTNet's clamp)."""
    h, w = image_hw
    half = area_size // 2
    centres = points[list(AREA_POINTS)]  # (4, 2): eyes, mouth corners
    centres = np.stack([np.clip(centres[:, 0], half, w - half),
                        np.clip(centres[:, 1], half, h - half)], axis=1)
    return np.floor(centres).astype(int)  # the authors truncate (all values >= half > 0)


def tile_areas(img: np.ndarray, centres: np.ndarray, area_size: int) -> np.ndarray:
    """(H, W, C) image, (4, 2) centres -> (2a, 2a, C) mosaic of the four areas (module doc)."""
    half = area_size // 2
    crops = [img[y - half:y - half + area_size, x - half:x - half + area_size]
             for x, y in centres]  # each (a, a, C)
    top = np.concatenate(crops[:2], axis=1)  # eyes: (a, 2a, C)
    bottom = np.concatenate(crops[2:], axis=1)  # lips
    return np.ascontiguousarray(np.concatenate([top, bottom], axis=0))  # (2a, 2a, C)


@TRANSFORMS.register_module()
class CropFacialAreas(BaseTransform):
    """Replace ``results['imgs']`` by HTNet's 2 x 2 mosaic of facial areas (module docstring).

    Args:
        area_size: side of each area in pixels of the loaded image (14 on 28 px, as HTNet).
        fallback: 'htnet' (HTNet's fallback points for samples without ``landmarks5``, counted
            and logged) or None (a missing ``landmarks5`` is an error).

    Adds ``results['area_centres']`` ((4, 2) x, y) and ``results['landmarks_source']``
    ('landmarks5' or 'fallback').
    """

    def __init__(self, area_size: int = 14, fallback: Optional[str] = 'htnet') -> None:
        if area_size < 2 or area_size % 2:
            raise ValueError(f'CropFacialAreas: area_size must be even and >= 2, got {area_size}')
        if fallback not in ('htnet', None):
            raise ValueError(f"CropFacialAreas: fallback must be 'htnet' or None, got {fallback!r}")
        self.area_size = area_size
        self.fallback = fallback
        #: samples whose areas were cut around the fallback points (the counted rule)
        self.fallback_samples: set = set()

    def fallback_points(self, image_hw: Tuple[int, int]) -> np.ndarray:
        """HTNet's fallback points scaled from 28 x 28 to an (H, W) image: (5, 2) x, y."""
        h, w = image_hw
        return np.asarray(HTNET_FALLBACK_28PX) * np.array([w, h]) / 28.0

    def _count_fallback(self, sample: str) -> None:
        if sample in self.fallback_samples:
            return
        self.fallback_samples.add(sample)
        n = len(self.fallback_samples)
        if n & (n - 1) == 0:  # 1, 2, 4, 8, ...: counted in the log without one line per sample
            MMLogger.get_current_instance().warning(
                f"CropFacialAreas: {n} sample(s) so far have no 'landmarks5' (latest: {sample}); "
                "their facial areas are cut around HTNet's fallback landmarks. Add landmarks with "
                'tools/data/add_landmarks.py, or set fallback=None to make this an error.')

    def transform(self, results: dict) -> dict:
        sample = str(results.get('sample_id', results.get('sample_idx', '?')))
        imgs = results['imgs']
        if len(imgs) != 1:
            raise ValueError(f'sample {sample}: CropFacialAreas expects one flow image '
                             f'(LoadMEImage), got {len(imgs)} frames')
        img = imgs[0]
        hw = img.shape[:2]
        if min(hw) < self.area_size:
            raise ValueError(f'sample {sample}: a {hw[0]}x{hw[1]} image is smaller than the '
                             f'{self.area_size} px areas')
        if results.get('landmarks5') is not None:
            points = landmarks_in_image(results['landmarks5'], hw, sample)
            results['landmarks_source'] = 'landmarks5'
        elif self.fallback is None:
            raise KeyError(f"sample {sample}: no 'landmarks5' for HTNet's facial areas; add them "
                           'with tools/data/add_landmarks.py ANNOTATIONS --out FILE, or use '
                           "CropFacialAreas(fallback='htnet') (counted in the log)")
        else:
            points = self.fallback_points(hw)
            results['landmarks_source'] = 'fallback'
            self._count_fallback(sample)
        centres = area_centres(points, hw, self.area_size)
        results['imgs'] = [tile_areas(img, centres, self.area_size)]
        results['area_centres'] = centres
        results['img_shape'] = results['imgs'][0].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(area_size={self.area_size}, '
                f'fallback={self.fallback!r})')


__all__ = ['CropFacialAreas', 'LANDMARK_NAMES', 'AREA_POINTS', 'HTNET_FALLBACK_28PX',
           'landmarks_in_image', 'area_centres', 'tile_areas']
