"""tools/data/prepare_dataset.py on a fabricated CASME II release of REAL faces: the composite's
apex faces pasted into 640 x 480 frames, moving a little from frame to frame, as clips."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

pytest.importorskip('dlib')
pytest.importorskip('openpyxl')
from mer_clip.datasets.framing_check import FramingMismatchError  # noqa: E402
from mer_clip.preprocessing.face_align import FaceAligner  # noqa: E402
from mer_clip.preprocessing.face_detect import apply_affine  # noqa: E402
from mer_clip.utils.image_io import read_image  # noqa: E402
from tests.conftest import COMPOSITE_FACES, load_tool  # noqa: E402
from tests.preprocessing.test_prepare import write_xlsx  # noqa: E402

#: composite apex faces HOG finds in a 640 x 480 frame (bench/face_detection_real.py), 3 subjects
FACES = ('sub01_EP02_01f', 'sub04_EP13_06f', 'sub05_EP02_07')
#: (dx, dy) of the face in frames 10..15 of each clip: a small head movement
SHIFTS = [(0, 0), (1, 0), (2, 1), (3, 2), (2, 3), (1, 2)]
ORIGIN = (210, 120)  # top-left of the 224 x 224 face in the 640 x 480 frame at shift (0, 0)


def _release(raw):
    """CASME2-RAW/subXX/<filename>/img<n>.jpg + the CASME II coding sheet."""
    rows = []
    for name in FACES:
        face = cv2.imread(osp.join(COMPOSITE_FACES, name + '.jpg'))
        subject, filename = name.split('_', 1)
        folder = osp.join(raw, 'CASME2-RAW', subject, filename)
        os.makedirs(folder)
        for n, (dx, dy) in enumerate(SHIFTS, start=10):
            frame = np.zeros((480, 640, 3), np.uint8)
            x, y = ORIGIN[0] + dx, ORIGIN[1] + dy
            frame[y:y + 224, x:x + 224] = face
            assert cv2.imwrite(osp.join(folder, f'img{n}.jpg'), frame,
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        rows.append((int(subject[3:]), filename, None, 10, 12, 15, None, '12', 'happiness'))
    write_xlsx(osp.join(raw, 'CASME2-coding-20140508.xlsx'),
               ['Subject', 'Filename', 'Unnamed: 2', 'OnsetFrame', 'ApexFrame', 'OffsetFrame',
                'Unnamed: 6', 'Action Units', 'Estimated Emotion'], rows)


@pytest.mark.skipif(not osp.isdir(COMPOSITE_FACES),
                    reason=f'real composite faces absent: {COMPOSITE_FACES}')
def test_real_faces_in_640x480_clips_are_aligned_onto_the_framing(tmp_path):
    from mmaction.registry import DATASETS
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    _release(raw)
    tool = load_tool('tools/data/prepare_dataset.py')
    assert tool.main(['casme2', raw, out, '--detector-stages', 'hog', '--no-progress']) == 0
    log = json.load(open(osp.join(out, 'prepare_log.json')))
    assert log['counts'] == dict(done=3, resumed=0, skipped=0, no_face=0)
    assert log['alignment']['stages']['hog'] == 3 and log['alignment']['center_crop_clips'] == []
    assert {c['sample_id']: (c['method'], c['stage'], c['frame']) for c in log['clips']} == {
        name: ('landmarks', 'hog', 10) for name in FACES}

    aligner = FaceAligner(stages=('hog', ))  # the default framing: mer_clip
    template = aligner.template_eyes()
    ann = json.load(open(osp.join(out, 'annotations.json')))
    assert ann['metainfo']['prepared']['framing'] == 'mer_clip'
    for rec in ann['data_list']:
        matrix = np.array(rec['face_align']['matrix'])
        # the eyes of the face as given, placed by the known paste, through the clip's transform
        given = aligner.eye_centres(aligner.detect_landmarks(
            read_image(osp.join(COMPOSITE_FACES, rec['sample_id'] + '.jpg'))))
        placed = apply_affine(given + np.array(ORIGIN, float), matrix)
        assert np.abs(placed - template).max() < 2.0, (rec['sample_id'], placed, template)
        # the written frames: the onset's eyes on the template; a later frame's moved by A @ shift
        clip = osp.join(out, 'frames', rec['frame_dir'])
        for n in (10, 13):
            img = np.ascontiguousarray(read_image(osp.join(clip, f'img_{n:05d}.jpg')))
            eyes = aligner.eye_centres(aligner.detect_landmarks(img))
            want = template + matrix[:, :2] @ np.array(SHIFTS[n - 10], float)
            assert np.abs(eyes - want).max() < 2.5, (rec['sample_id'], n, eyes, want)

    # the dataset checks the recorded framing against the config's
    path = osp.join(out, 'annotations.json')
    ds = DATASETS.build(dict(type='MicroExpressionDataset', ann_file=path,
                             class_scheme='casme2_5', framing='mer_clip'))
    assert len(ds) == 3 and ds.metainfo['framing'] == 'mer_clip'
    with pytest.raises(FramingMismatchError, match="prepared with framing 'mer_clip'"):
        DATASETS.build(dict(type='MicroExpressionDataset', ann_file=path,
                            class_scheme='casme2_5', framing='megc2019_casme2'))
