"""align_recording / pick_apex: a raw frame folder aligned like a release clip; no face is said."""
import os

import cv2
import numpy as np
import pytest

pytest.importorskip('dlib')
skimage_data = pytest.importorskip('skimage.data')

from mer_clip.preprocessing.prepare import PrepareConfig  # noqa: E402
from mer_clip.preprocessing.recording import align_recording, pick_apex  # noqa: E402


def test_apex_is_the_frame_most_different_from_the_onset(tmp_path):
    for n, v in enumerate([50, 52, 80, 120, 90, 55]):
        cv2.imwrite(str(tmp_path / f'img_{n:05d}.jpg'), np.full((32, 32, 3), v, np.uint8))
    assert pick_apex(str(tmp_path), 0, 5) == 3
    assert pick_apex(str(tmp_path), 0, 2) == 1  # within onset..offset only (smoothed)


def test_raw_folder_aligned_with_the_cascade_or_a_said_centre_crop(tmp_path):
    face = cv2.cvtColor(skimage_data.astronaut()[20:280, 100:360], cv2.COLOR_RGB2BGR)
    raw, blank = tmp_path / 'raw', tmp_path / 'blank'
    os.makedirs(raw)
    os.makedirs(blank)
    for n in range(3):
        frame = np.full((360, 480, 3), 70, np.uint8)
        frame[50:310, 100 + n:360 + n] = face
        cv2.imwrite(str(raw / f'{n + 7}.png'), frame)
        cv2.imwrite(str(blank / f'{n}.png'), np.full((120, 160, 3), 90, np.uint8))
    cfg = PrepareConfig(size=112, detector_stages=['hog'])
    info = align_recording(str(raw), str(tmp_path / 'out'), cfg=cfg)
    assert (info['onset'], info['offset'], info['num_frames']) == (7, 9, 3)
    assert info['face_align']['stage'] == 'hog' and info['face_align']['ref_frame'] == 7
    assert info['apex_picked'] and 7 <= info['apex'] <= 9
    assert sorted(os.listdir(tmp_path / 'out'))[:3] == ['clip.json', 'img_00007.jpg',
                                                        'img_00008.jpg']
    info = align_recording(str(blank), str(tmp_path / 'out2'), apex=1, cfg=cfg)
    assert info['face_align']['method'] == 'center_crop'
    assert info['face_align']['tried'] == [0, 1, 2]
    assert info['apex'] == 1 and not info['apex_picked']
    with pytest.raises(ValueError, match='onset'):
        align_recording(str(blank), str(tmp_path / 'out3'), onset=2, offset=1, cfg=cfg)
