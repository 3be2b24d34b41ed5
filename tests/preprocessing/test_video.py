"""Video files: one ME aligned from a video (0-based indices), and a CSV list of videos."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

pytest.importorskip('skimage.data')
pytest.importorskip('dlib')

from mer_clip.preprocessing.prepare import PrepareConfig, prepare_records  # noqa: E402
from mer_clip.preprocessing.video import prepare_video, read_video_list  # noqa: E402
from tests.preprocessing.test_prepare import SIZE, face_frame  # noqa: E402


def test_video_file_is_prepared_with_0_based_indices(tmp_path):
    video = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 25, (128, 112))
    assert writer.isOpened()
    for k in range(12):
        writer.write(cv2.cvtColor(face_frame(k), cv2.COLOR_RGB2BGR))
    writer.release()
    out_dir = str(tmp_path / 'out' / 'clip')
    rec = prepare_video(video, 0, 4, 9, out_dir, cfg=PrepareConfig(size=SIZE), cache=True,
                        clip_len=8, emotion='happiness', aus='12')
    assert rec['face_align']['method'] == 'landmarks' and rec['face_align']['ref_frame'] == 0
    names = sorted(f for f in os.listdir(out_dir) if f.endswith('.jpg'))
    assert names[0] == 'img_00000.jpg' and len(names) == 12  # every frame, 0-based
    assert rec['au_list'] == [{'au': 12, 'side': None, 'intensity': None}]
    assert np.load(rec['clip_cache']).shape == (8, SIZE, SIZE, 3)

    # a CSV list of videos through the dataset machinery (only onset..offset written)
    csv = tmp_path / 'videos.csv'
    csv.write_text('video,onset,apex,offset,subject,sample_id,emotion,aus\n'
                   'clip.mp4,2,5,8,s1,v1,surprise,1+2\n')
    out = str(tmp_path / 'out2')
    summary = prepare_records(read_video_list(str(csv)), out,
                              cfg=PrepareConfig(size=SIZE, only_sampled_frames=True),
                              progress=False)
    assert summary['counts']['done'] == 1
    assert sorted(os.listdir(osp.join(out, 'frames', 's1', 'v1'))) == \
        sorted([f'img_{n:05d}.jpg' for n in range(2, 9)] + ['clip.json'])
