"""Inference on a synthetic clip (frame folder and video file) and AU retrieval."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from mer_clip.apis import inference_me_clip, init_recognizer, retrieve_aus
from mer_clip.apis.inference import au_candidates, au_text_embeddings, frame_folder_info
from tests.conftest import SYNTHETIC_CONFIG as CONFIG


@pytest.fixture(scope='module')
def model(repo_root):
    torch.manual_seed(0)
    return init_recognizer(osp.join(repo_root, CONFIG), None, device='cpu')


@pytest.fixture(scope='module')
def record(synthetic_root):
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        rec = json.load(f)['data_list'][0]
    rec['frame_dir'] = osp.join(synthetic_root, 'frames', rec['frame_dir'])
    return rec


def test_emotion_probabilities_match_the_test_pipeline(model, record, repo_root):
    probs = inference_me_clip(model, record['frame_dir'], onset=record['onset'],
                              apex=record['apex'], offset=record['offset'])
    assert list(probs) == ['negative', 'positive', 'surprise']
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)

    # the same clip through the config's own test pipeline and model.test_step
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    data = pipeline(dict(record, label=0, sample_idx=0))
    with torch.no_grad():
        ref = model.test_step(pseudo_collate([data]))[0].pred_score
    assert np.allclose(list(probs.values()), ref.tolist(), atol=1e-6)

    # without onset/offset: the whole folder
    info = frame_folder_info(record['frame_dir'])
    assert info['filename_tmpl'] == record['filename_tmpl']
    whole = inference_me_clip(model, record['frame_dir'])
    assert sum(whole.values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match='outside onset'):
        inference_me_clip(model, record['frame_dir'], onset=record['onset'],
                          apex=record['offset'] + 1, offset=record['offset'])


def test_video_file_input(model, record, tmp_path):
    import cv2
    info = frame_folder_info(record['frame_dir'])
    path = str(tmp_path / 'clip.mp4')
    frames = [cv2.imread(osp.join(record['frame_dir'], info['filename_tmpl'].format(i)))
              for i in range(info['first'], info['last'] + 1)]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 25, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    probs = inference_me_clip(model, path, onset=0, offset=len(frames) - 1)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match='offset'):
        inference_me_clip(model, path, onset=0, offset=len(frames) + 5)


def test_au_retrieval_ranks_by_aligned_similarity(model, record):
    res = retrieve_aus(model, record['frame_dir'], top_k=5)
    assert len(res) == 5
    scores = [r['score'] for r in res]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    singles = au_candidates()
    assert len(singles) == 18 and [4] in singles  # Table II

    # steer the visual projection onto the text embedding of AU 12: AU 12 must come first
    text = au_text_embeddings(model, [[12]])[0]
    head = model.align_head
    saved = {k: v.clone() for k, v in head.visual_proj.state_dict().items()}
    try:
        with torch.no_grad():
            head.visual_proj.weight.zero_()
            head.visual_proj.bias.copy_(text)
        top = retrieve_aus(model, record['frame_dir'], top_k=3)
    finally:
        head.visual_proj.load_state_dict(saved)
    assert top[0]['aus'] == [12] and top[0]['label'] == 'AU12'
    assert top[0]['score'] == pytest.approx(1.0, abs=1e-5)
    assert top[0]['description'] == 'pulling the corners of the lips'
    assert top[0]['prob'] > top[1]['prob']

    combos = retrieve_aus(model, record['frame_dir'], top_k=200, aus=[1, 2, 4],
                          max_combination=2)
    assert sorted(tuple(r['aus']) for r in combos) == [(1, ), (1, 2), (1, 4), (2, ), (2, 4), (4, )]
    assert sum(r['prob'] for r in combos) == pytest.approx(1.0, abs=1e-4)


def test_retrieval_needs_alignment(repo_root, record):
    m = init_recognizer(osp.join(repo_root, CONFIG), None,
                        cfg_options=dict(model=dict(align_head=None, text_encoder=None)))
    with pytest.raises(ValueError, match='align_head'):
        retrieve_aus(m, record['frame_dir'])


def test_user_errors_name_the_file(model, repo_root, tmp_path):
    """Were: mmengine's '[Errno 2] No such file or directory', torch's 'Error(s) in loading
    state_dict for MERCLIP' with hundreds of keys and no file, decord's 'Error reading ...'."""
    from mer_clip.checkpoint import CheckpointMismatchError, save_checkpoint
    with pytest.raises(FileNotFoundError, match=r'nope\.py: config file not found'):
        init_recognizer(str(tmp_path / 'nope.py'))
    other = str(tmp_path / 'other.pth')
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('cls_head.')}
    state['cls_head.extra.weight'] = torch.zeros(2)
    save_checkpoint({'state_dict': state, 'meta': {}}, other)
    with pytest.raises(CheckpointMismatchError) as e:
        init_recognizer(osp.join(repo_root, CONFIG), other)
    msg = str(e.value)
    assert msg.startswith(f'{other}: does not fit the model of the config (') and \
        "unexpected keys: 'cls_head.extra.weight')" in msg and 'missing' in msg and len(msg) < 600
    not_video = tmp_path / 'clip.mp4'
    not_video.write_text('not a video')
    with pytest.raises(ValueError, match=r'clip\.mp4: not a readable video file'):
        inference_me_clip(model, str(not_video))
