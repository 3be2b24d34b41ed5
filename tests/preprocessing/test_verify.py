"""verify_dataset (and tools/data/check_dataset.py): a prepared dataset scanned for missing, cut-off
and undecodable frames, wrong counts and caches; a report instead of an exception."""
import json
import os
import os.path as osp
import runpy
import shutil

import numpy as np

from mer_clip.preprocessing.verify import verify_dataset
from tests.conftest import REPO_ROOT


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
