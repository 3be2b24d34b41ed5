"""Five facial points per sample: the 68-point mapping, one image, an annotation file end to end."""
import json

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip('skimage.data')
pytest.importorskip('dlib')

from mer_clip.datasets.annotation import (AnnotationError, dump_annotations,  # noqa: E402
                                          load_annotations, make_record)
from mer_clip.preprocessing.face_detect import FaceCascade  # noqa: E402
from mer_clip.preprocessing.landmarks5 import (FIVE_POINTS, add_landmarks5,  # noqa: E402
                                               five_points, landmarks5_entry)
from tests.conftest import load_tool  # noqa: E402


@pytest.fixture(scope='module')
def face():
    return np.ascontiguousarray(skimage_data.astronaut()[20:280, 100:360])  # (260, 260, 3)


def test_five_points_take_eye_means_nose_tip_and_mouth_corners():
    lm = np.arange(136, dtype=np.float64).reshape(68, 2)
    pts = five_points(lm)
    np.testing.assert_allclose(pts[0], lm[36:42].mean(0))
    np.testing.assert_allclose(pts[1], lm[42:48].mean(0))
    np.testing.assert_allclose(pts[2:], lm[[30, 48, 54]])
    assert FIVE_POINTS == ('left_eye', 'right_eye', 'nose_tip', 'left_mouth', 'right_mouth')
    with pytest.raises(ValueError, match=r'\(68, 2\)'):
        five_points(lm[:5])


def test_points_follow_the_face_in_image_coordinates(face):
    """The points sit on the face in image-left/right order and move with it (scale + shift)."""
    cascade = FaceCascade(stages=('hog', ))
    e = landmarks5_entry(face, cascade, 'apex_image')
    assert e['size'] == [260, 260] and e['stage'] == 'hog' and e['image'] == 'apex_image'
    p = np.array(e['points'])
    assert p[0, 0] < p[2, 0] < p[1, 0] and p[3, 0] < p[2, 0] < p[4, 0]  # left, nose, right
    assert p[:2, 1].max() < p[2, 1] < p[3:, 1].min()                        # eyes, nose, mouth
    m = np.float64([[1.5, 0, 40], [0, 1.5, 25]])
    big = cv2.warpAffine(face, m, (480, 440), flags=cv2.INTER_LINEAR)
    e2 = landmarks5_entry(big, cascade, 'apex_image')
    assert e2['size'] == [480, 440]
    moved = p @ m[:, :2].T + m[:, 2]
    assert np.abs(np.array(e2['points']) - moved).max() < 4.0  # 1.5x: a few px of landmark noise


def test_annotation_file_gets_points_and_lists_the_misses(tmp_path, face):
    """A face, a blank image and a cut-off JPEG: one field, two listed misses; the loader and the
    dataset keep the field."""
    cv2.imwrite(str(tmp_path / 'face.jpg'), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / 'blank.jpg'), np.full((224, 224, 3), 128, np.uint8))
    data = (tmp_path / 'face.jpg').read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 2])
    recs = [make_record(sample_id=n, subject='s1', emotion='happiness', aus='12', onset=None,
                        apex=None, offset=None, apex_image=f'{n}.jpg', dataset='casme2')
            for n in ('face', 'blank', 'cut')]
    ann = str(tmp_path / 'ann.json')
    dump_annotations(recs, ann, dict(dataset_name='casme2'))
    out = str(tmp_path / 'ann_lm5.json')
    s = add_landmarks5(ann, out, cascade=FaceCascade(stages=('hog', )), progress=False)
    assert (s['found'], s['missed'], s['stages']) == (1, 2, {'hog': 1})
    reasons = {m['sample_id']: m['reason'] for m in s['missed_samples']}
    assert 'no face found' in reasons['blank'] and 'blank.jpg' in reasons['blank']
    assert 'unreadable' in reasons['cut'] and 'cut.jpg' in reasons['cut']
    meta, loaded = load_annotations(out)
    by_id = {r['sample_id']: r for r in loaded}
    assert 'landmarks5' not in by_id['blank'] and 'landmarks5' not in by_id['cut']
    assert by_id['face']['landmarks5']['size'] == [260, 260]
    assert meta['landmarks5']['found'] == 1

    from mmaction.registry import DATASETS
    ds = DATASETS.build(dict(type='MicroExpressionDataset', ann_file=out,
                             data_prefix=dict(img=str(tmp_path)), class_scheme='megc2019_3'))
    infos = {ds.get_data_info(i)['sample_id']: ds.get_data_info(i) for i in range(len(ds))}
    assert infos['face']['landmarks5'] == by_id['face']['landmarks5']


def test_malformed_landmarks5_is_an_error_naming_the_sample():
    base = dict(sample_id='s1_01', subject='s1', emotion='happiness', aus='12', onset=None,
                apex=None, offset=None, apex_image='a.jpg')
    good = dict(points=[[1, 2]] * 5, image='apex_image', size=[224, 224], stage='hog')
    make_record(**base, landmarks5=good)
    for bad, what in ((dict(good, points=[[1, 2]] * 4), 'points'),
                      (dict(good, size=[224]), 'size'), (dict(good, image=''), 'image')):
        with pytest.raises(AnnotationError, match=f"s1_01.*landmarks5.{what}"):
            make_record(**base, landmarks5=bad)


def test_tool_prints_the_count_and_writes_the_summary(tmp_path, face, capsys):
    tool = load_tool('tools/data/add_landmarks.py')
    cv2.imwrite(str(tmp_path / 'face.jpg'), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    rec = make_record(sample_id='face', subject='s1', emotion='happiness', aus='12', onset=None,
                      apex=None, offset=None, apex_image='face.jpg')
    ann = str(tmp_path / 'ann.json')
    dump_annotations([rec], ann)
    assert tool.main([ann, '--stages', 'hog', '--summary', str(tmp_path / 's.json'),
                      '--no-progress']) == 0
    assert 'landmarks5: 1/1 samples with a face' in capsys.readouterr().out
    assert json.load(open(tmp_path / 's.json'))['found'] == 1
    assert 'landmarks5' in load_annotations(ann)[1][0]  # in place without --out
