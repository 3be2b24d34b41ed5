"""tools/demo.py --align: a real face in a larger frame that moves, aligned then predicted."""
import os
import os.path as osp
import runpy

import cv2
import numpy as np
import pytest

from mer_clip.checkpoint import save_checkpoint
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG

pytest.importorskip('dlib')
FACE = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'megc2019_composite_htnet', 'datasets',
                'combined_datasets_whole', 'sub01_EP02_01f.jpg')
SHIFTS = [0, 1, 2, 6, 2, 1]  # px to the right per frame: frame 3 moves most from the onset


@pytest.mark.skipif(not osp.isfile(FACE), reason=f'real composite face absent: {FACE}')
def test_demo_aligns_a_raw_recording_and_picks_the_apex(tmp_path, capsys):
    face = cv2.imread(FACE)
    raw = tmp_path / 'recording'
    os.makedirs(raw)
    for n, dx in enumerate(SHIFTS):
        frame = np.full((480, 640, 3), 60, np.uint8)
        frame[100 + 0:324, 250 + dx:474 + dx] = face
        cv2.imwrite(str(raw / f'frame{n:03d}.png'), frame)
    from mer_clip.apis import init_recognizer
    ckpt = str(tmp_path / 'model.pth')
    save_checkpoint({'state_dict': init_recognizer(osp.join(REPO_ROOT, SYNTHETIC_CONFIG))
                     .state_dict(), 'meta': {}}, ckpt)
    demo = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'demo.py'))['main']
    out = str(tmp_path / 'aligned')
    assert demo([osp.join(REPO_ROOT, SYNTHETIC_CONFIG), ckpt, str(raw), '--align',
                 '--save-aligned', out]) == 0
    printed = capsys.readouterr().out
    assert 'frames 0..5 (6), apex 3 (picked' in printed
    assert 'face found by hog on frame 0' in printed
    assert 'emotion probabilities' in printed
    written = sorted(f for f in os.listdir(out) if f.endswith('.jpg'))
    assert written == [f'img_{n:05d}.jpg' for n in range(6)]
    assert cv2.imread(osp.join(out, written[0])).shape == (224, 224, 3)
