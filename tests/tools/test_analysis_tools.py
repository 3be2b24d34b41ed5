"""tools/analysis/tsne.py and gradcam.py on the synthetic set (random weights): figures written."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from tests.conftest import SYNTHETIC_CONFIG, load_tool


def _opts(root):
    ann = osp.join(root, 'annotations.json')
    return {'test_dataloader.dataset.ann_file': ann,
            'test_dataloader.dataset.data_prefix.img': osp.join(root, 'frames')}


def _is_png(path):
    with open(path, 'rb') as f:
        return osp.getsize(path) > 1000 and f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_tsne_tool(repo_root, synthetic_root, tmp_path):
    torch.manual_seed(0)
    out = str(tmp_path / 'tsne.png')
    load_tool('tools/analysis/tsne.py').run(osp.join(repo_root, SYNTHETIC_CONFIG), None, out,
                                            split='all', cfg_options=_opts(synthetic_root))
    assert _is_png(out)
    data = np.load(str(tmp_path / 'tsne.npz'))
    assert data['points'].shape == (24, 2) and data['features'].shape == (24, 64)
    assert np.isfinite(data['points']).all() and data['points'].std() > 0


def test_gradcam_tool(repo_root, synthetic_root, tmp_path):
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        rec = json.load(f)['data_list'][0]
    clip = osp.join(synthetic_root, 'frames', rec['frame_dir'])
    torch.manual_seed(0)
    out = str(tmp_path / 'cam.png')
    path, result = load_tool('tools/analysis/gradcam.py').run(
        osp.join(repo_root, SYNTHETIC_CONFIG), None, clip, out, target='positive',
        onset=rec['onset'], apex=rec['apex'], offset=rec['offset'])
    assert _is_png(path)
    cam = result['cam']
    assert cam.shape == result['frames'].shape[:3] == (8, 32, 32)
    assert cam.min() == pytest.approx(0.0, abs=1e-6) and cam.max() == pytest.approx(1.0, abs=1e-5)
    assert result['target'] == 1 and result['apex_index'] is not None
    with pytest.raises(ValueError, match='not a class'):
        load_tool('tools/analysis/gradcam.py').run(osp.join(repo_root, SYNTHETIC_CONFIG), None,
                                                   clip, out, target='joy')
