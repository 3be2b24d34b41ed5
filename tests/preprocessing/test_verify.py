"""verify_dataset (and tools/data/check_dataset.py): a prepared dataset scanned for missing, cut-off
and undecodable frames, wrong counts and caches; a report instead of an exception."""
import json
import os
import os.path as osp
import runpy
import shutil

import numpy as np

import pytest

from mer_clip.preprocessing.verify import verify_dataset
from tests.conftest import REPO_ROOT
from tests.utils.test_image_io import COMPOSITE_JPEGS, damaged, needs_composite


def _copy(synthetic_root, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    with open(osp.join(root, 'annotations.json')) as f:
        records = json.load(f)['data_list']
    return root, records


def test_clean_dataset_then_each_kind_of_damage(synthetic_root, tmp_path):
    root, records = _copy(synthetic_root, tmp_path)
    report = verify_dataset(osp.join(root, 'annotations.json'), progress=False)
    assert report['ok'] and report['num_clips'] == len(records) and not report['problems']

    a, b, c = records[:3]
    frame = osp.join(root, 'frames', a['frame_dir'], a['filename_tmpl'].format(a['apex']))
    data = open(frame, 'rb').read()
    open(frame, 'wb').write(data[:int(len(data) * 0.4)])  # cut off: cv2 would load it grey
    os.remove(osp.join(root, 'frames', b['frame_dir'], b['filename_tmpl'].format(b['offset'])))
    os.makedirs(osp.join(root, 'frames', 'zz', 'stray'))
    open(osp.join(root, 'frames', 'zz', 'stray', 'clip.json'), 'w').write('{}')
    report = verify_dataset(osp.join(root, 'annotations.json'), progress=False, workers=2)
    assert not report['ok'] and report['num_bad_clips'] == 2
    by_id = {p['sample_id']: p for p in report['problems']}
    assert 'truncated or damaged JPEG' in by_id[a['sample_id']]['problem']
    assert by_id[a['sample_id']]['file'] == frame
    assert f"frame {b['offset']} of onset..offset" in by_id[b['sample_id']]['problem']
    assert report['orphan_folders'] == ['zz/stray'] and c['sample_id'] not in by_id


def test_check_dataset_tool_reports_and_exits_1(synthetic_root, tmp_path, capsys):
    root, records = _copy(synthetic_root, tmp_path)
    main = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'data', 'check_dataset.py'))['main']
    ann = osp.join(root, 'annotations.json')
    assert main([ann, '--no-progress']) == 0
    assert f'{len(records)} clips checked' in capsys.readouterr().out
    r = records[5]
    cache = np.zeros((8, 4, 4, 3), np.uint8)
    np.save(osp.join(root, 'frames', r['frame_dir'], 'c.npy'), cache[:, :, :, :2])
    with open(ann) as f:
        ann_json = json.load(f)
    ann_json['data_list'][5]['clip_cache'] = osp.join(r['frame_dir'], 'c.npy')
    with open(ann, 'w') as f:
        json.dump(ann_json, f)
    out = str(tmp_path / 'report.json')
    assert main([ann, '--no-progress', '--out', out]) == 1
    text = capsys.readouterr().out
    assert '1 with problems' in text and 'expected uint8 (T, H, W, 3)' in text
    assert json.load(open(out))['problems'][0]['sample_id'] == r['sample_id']


def _check_tool():
    return runpy.run_path(osp.join(REPO_ROOT, 'tools', 'data', 'check_dataset.py'))['main']


def test_check_dataset_tool_refuses_a_zero_padded_cut_off_frame(synthetic_root, tmp_path,
                                                                capsys):
    """A frame cut to 70 % (inside its scan: these frames are 32 px, mostly header) and padded with
    zeros to its size (an interrupted copy) decodes silently with made-up rows; the tool used to
    report the dataset clean (exit 0)."""
    root, records = _copy(synthetic_root, tmp_path)
    r = records[2]
    frame = osp.join(root, 'frames', r['frame_dir'], r['filename_tmpl'].format(r['onset']))
    data = open(frame, 'rb').read()
    cut = data[:int(len(data) * 0.7)]
    open(frame, 'wb').write(cut + b'\x00' * (len(data) - len(cut)))
    out = str(tmp_path / 'report.json')
    assert _check_tool()([osp.join(root, 'annotations.json'), '--no-progress', '--out', out]) == 1
    text = capsys.readouterr().out
    assert '1 with problems (1 problems)' in text and frame in text
    assert 'without an EOI marker' in text and 'zeros' in text
    (problem,) = json.load(open(out))['problems']
    assert problem['sample_id'] == r['sample_id'] and problem['file'] == frame


def test_check_dataset_tool_exits_1_on_an_empty_annotation_file(tmp_path, capsys):
    """An empty data_list used to print "0 clips checked" and exit 0: nothing verified, no error."""
    ann = tmp_path / 'annotations.json'
    ann.write_text(json.dumps(dict(metainfo=dict(dataset_name='samm'), data_list=[])))
    assert _check_tool()([str(ann), '--no-progress']) == 1
    out = capsys.readouterr().out
    assert out.startswith(f'0 clips checked: {ann} holds no clips (its data_list is empty), so '
                          'nothing was verified; convert the annotations again')
    report = verify_dataset(str(ann), progress=False)
    assert not report['ok'] and report['num_clips'] == 0


@needs_composite
@pytest.mark.parametrize('kind', ['zeros', 'random', 'cut'])
def test_check_dataset_tool_on_real_frames_whole_then_damaged(tmp_path, capsys, kind):
    """A clip of 6 real composite images (224 px JPEGs) is clean; one of them cut at 99 % (and
    padded back) makes the tool exit 1 naming it. Before, the zero- and random-padded ones of this
    image passed (exit 0; 28 of the 442 images pass zero-padded at 99 %, 141 random-padded); the
    plain cut was refused already."""
    clip = tmp_path / 'frames' / 's01' / 'c1'
    clip.mkdir(parents=True)
    for n, src in enumerate(COMPOSITE_JPEGS[204:210]):  # [204]: s05_s5_sur_01.jpg
        shutil.copy(src, clip / f'img_{n:05d}.jpg')
    record = dict(sample_id='c1', subject='s01', frame_dir='s01/c1', filename_tmpl='img_{:05d}.jpg',
                  onset=0, apex=2, offset=5, emotion='surprise', aus='12',
                  au_list=[dict(au=12, side=None, intensity=None)])
    ann = tmp_path / 'annotations.json'
    ann.write_text(json.dumps(dict(metainfo=dict(dataset_name='composite'), data_list=[record])))
    assert _check_tool()([str(ann), '--no-progress']) == 0
    assert '0 with problems' in capsys.readouterr().out
    frame = clip / 'img_00000.jpg'
    frame.write_bytes(damaged(frame.read_bytes(), 0.99, kind, seed=0))
    assert _check_tool()([str(ann), '--no-progress']) == 1
    text = capsys.readouterr().out
    assert '1 with problems (1 problems)' in text
    assert f'c1: {frame}: truncated or damaged JPEG' in text


def test_check_dataset_tool_checks_image_only_records(synthetic_root, tmp_path, capsys):
    """Records with only apex_image / flow_image (the published MEGC2019 composite) used to crash
    the tool (int(None) onset: a TypeError traceback); their images are now checked to the end."""
    import cv2
    _, records = _copy(synthetic_root, tmp_path)
    src = records[0]
    (tmp_path / 'img').mkdir()
    rows = []
    for k, r in enumerate(records[:3]):
        apex = osp.join(tmp_path, 'data', 'frames', r['frame_dir'],
                        r['filename_tmpl'].format(r['apex']))
        shutil.copy(apex, tmp_path / 'img' / f'{k}.jpg')
        cv2.imwrite(str(tmp_path / 'img' / f'{k} .png'), np.full((28, 28, 3), 40 * k, np.uint8))
        rows.append(dict(sample_id=f'x{k}', subject=r['subject'], emotion=r['emotion'],
                         aus=r['aus'], au_list=r['au_list'], onset=None, apex=None, offset=None,
                         apex_image=f'img/{k}.jpg', flow_image=f'img/{k} .png'))
    ann = tmp_path / 'images.json'
    ann.write_text(json.dumps(dict(metainfo=dict(dataset_name=src['subject']), data_list=rows)))
    assert _check_tool()([str(ann), '--no-progress']) == 0
    assert '3 clips checked' in capsys.readouterr().out
    jpg = tmp_path / 'img' / '1.jpg'
    data = jpg.read_bytes()
    jpg.write_bytes(damaged(data, 0.7, 'zeros'))
    (tmp_path / 'img' / '2 .png').unlink()
    assert _check_tool()([str(ann), '--no-progress']) == 1
    text = capsys.readouterr().out
    assert '2 with problems (2 problems)' in text
    assert f'x1: {jpg}: truncated or damaged JPEG' in text
    assert f"x2: flow_image not found [{tmp_path / 'img' / '2 .png'}]" in text
