"""The face detector cascade on a real face (scikit-image's astronaut): stages, rotation, picks."""
import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip('skimage.data')
pytest.importorskip('dlib')

from mer_clip.preprocessing import face_detect  # noqa: E402
from mer_clip.preprocessing.face_detect import (FaceCascade, apply_affine,  # noqa: E402
                                                rotation_matrix)


@pytest.fixture(scope='module')
def face():
    return np.ascontiguousarray(skimage_data.astronaut()[20:280, 100:360])  # (260, 260, 3)


@pytest.fixture(scope='module')
def upright(face):
    return FaceCascade(stages=('hog', )).find(face)


def _eyes(lm):
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0)])


def test_rotation_canvas_keeps_every_corner():
    m, (cw, ch) = rotation_matrix(100, 200, 30)
    corners = apply_affine(np.float64([[0, 0], [200, 0], [0, 100], [200, 100]]), m)
    assert corners.min() >= -1e-6 and corners[:, 0].max() <= cw and corners[:, 1].max() <= ch


def test_hog_finds_an_upright_face_and_later_stages_do_not_run(face, monkeypatch):
    calls = []
    cascade = FaceCascade()
    monkeypatch.setattr(cascade, 'cnn_boxes', lambda img: calls.append(1) or [])
    det = cascade.find(face)
    assert det.stage == 'hog' and det.rotation == 0 and det.num_faces == 1
    assert calls == []  # the CNN costs nothing where HOG finds the face


def test_cnn_stage_alone_finds_the_face_and_agrees_with_hog(face, upright):
    det = FaceCascade(stages=('cnn', )).find(face)
    assert det.stage == 'cnn' and det.score > 0
    # landmarks from the CNN box (mapped onto a HOG-like box) agree to a few px
    assert np.abs(_eyes(det.landmarks) - _eyes(upright.landmarks)).max() < 4.0


def test_a_tilted_face_is_found_on_a_rotated_copy_and_mapped_back(face, upright):
    """Tilted 50 degrees, HOG upright finds nothing; the rotated stage does (then levels the eyes),
    with the landmarks in the tilted image's coordinates."""
    h, w = face.shape[:2]
    m, canvas = rotation_matrix(h, w, 50)
    tilted = cv2.warpAffine(face, m, canvas, flags=cv2.INTER_LINEAR)
    assert FaceCascade(stages=('hog', )).find(tilted) is None
    det = FaceCascade(stages=('hog', 'hog_rotated'), angles=(20, -20, -40)).find(tilted)
    assert det.stage == 'hog_rotated' and -50 < det.rotation < -40  # -40, then levelled
    want = apply_affine(_eyes(upright.landmarks), m)  # where the eyes went
    assert np.abs(_eyes(det.landmarks) - want).max() < 3.0


def test_a_tilted_face_found_upright_is_levelled_and_predicted_again(face, upright):
    """At 25 degrees HOG still fires upright; the landmarks come from the levelled copy."""
    h, w = face.shape[:2]
    m, canvas = rotation_matrix(h, w, 25)
    tilted = cv2.warpAffine(face, m, canvas, flags=cv2.INTER_LINEAR)
    det = FaceCascade(stages=('hog', )).find(tilted)
    assert det.stage == 'hog' and det.rotation < -15
    assert abs(FaceCascade.roll(det.landmarks) - det.rotation) < 1.5  # level in the copy
    assert FaceCascade(stages=('hog', ), level_roll=None).find(tilted).rotation == 0
    assert np.abs(_eyes(det.landmarks) - apply_affine(_eyes(upright.landmarks), m)).max() < 3.0


def test_two_faces_keep_the_largest_or_the_one_nearest_the_reference(face):
    canvas = np.zeros((300, 640, 3), np.uint8)
    canvas[20:280, 360:620] = face
    small = cv2.resize(face, (200, 200), interpolation=cv2.INTER_AREA)
    canvas[50:250, 20:220] = small
    cascade = FaceCascade(stages=('hog', ))
    det = cascade.find(canvas)
    assert det.num_faces == 2 and _eyes(det.landmarks)[:, 0].min() > 360  # the larger one
    det = cascade.find(canvas, reference=(120, 150))
    assert det.num_faces == 2 and _eyes(det.landmarks)[:, 0].max() < 220  # the one asked for


def test_no_face_and_bad_input():
    assert FaceCascade(stages=('hog', 'cnn')).find(np.full((200, 200, 3), 90, np.uint8)) is None
    with pytest.raises(ValueError, match='RGB uint8'):
        FaceCascade().find(np.zeros((50, 50), np.uint8))
    with pytest.raises(ValueError, match='unknown cascade stage'):
        FaceCascade(stages=('haar', ))


def test_the_box_mapping_is_applied_to_cnn_boxes(face, monkeypatch):
    base = FaceCascade(stages=('cnn', )).cnn_boxes(face)[0][0]
    scale = face_detect.CNN_TO_HOG_BOX['scale']
    monkeypatch.setitem(face_detect.CNN_TO_HOG_BOX, 'scale', 2 * scale)
    wide = FaceCascade(stages=('cnn', )).cnn_boxes(face)[0][0]
    assert wide[2] - wide[0] == pytest.approx(2 * (base[2] - base[0]))
