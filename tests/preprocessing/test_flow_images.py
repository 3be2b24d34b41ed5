"""Flow images of a prepared dataset: written beside the frames, annotation with flow_image, resume,
counted skips, the CLI (tools/data/compute_flow.py), and the images read back by LoadMEImage."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mer_clip.datasets.annotation import dump_annotations, load_annotations
from mer_clip.datasets.transforms import LoadMEImage
from mer_clip.preprocessing.flow_images import FlowError, write_flow_images
from mer_clip.preprocessing.optical_flow import flow_field, resolve_method
from tests.conftest import REPO_ROOT


@pytest.fixture
def prepared(tmp_path, synthetic_root):
    """A copy of the small synthetic set: the prepare_dataset.py layout (frames/, annotations)."""
    root = str(tmp_path / 'prepared')
    shutil.copytree(synthetic_root, root)
    return root


def test_writes_images_sidecars_and_annotation_then_resumes(prepared):
    summary = write_flow_images(prepared, method='farneback')
    assert summary['counts'] == dict(done=24, resumed=0, skipped=0, apex_middle=0)
    meta, recs = load_annotations(osp.join(prepared, 'annotations_flow.json'))
    assert meta['flow']['method'] == 'farneback' and meta['flow']['size'] == [28, 28]
    assert meta['flow']['frames_root'] == 'frames'
    rec = recs[0]
    assert rec['flow_image'] == osp.join(rec['frame_dir'], 'flow_28x28.png')
    assert rec['apex_image'] == osp.join(rec['frame_dir'],
                                         rec['filename_tmpl'].format(rec['apex']))
    assert rec['flow_method'] == 'farneback' and rec['flow_frames'] == [rec['onset'], rec['apex']]
    side = json.load(open(osp.join(prepared, 'frames', rec['frame_dir'], 'flow_28x28.json')))
    assert side['ranges'] == rec['flow_range'] and side['apex_source'] == 'annotation'

    # the stored image read back in pixels equals the field computed from the two frames
    frames = osp.join(prepared, 'frames', rec['frame_dir'])
    import cv2
    onset, apex = (cv2.imread(osp.join(frames, rec['filename_tmpl'].format(n)))
                   for n in rec['flow_frames'])
    field, _ = flow_field(onset, apex, (28, 28), 'farneback')
    got = LoadMEImage(flow_values='raw', flow_size=28)(dict(
        rec, flow_image=osp.join(prepared, 'frames', rec['flow_image'])))['imgs'][0]
    for c, name in enumerate(('u', 'v', 'strain')):
        lo, hi = rec['flow_range'][name]
        assert np.abs(got[..., c] - field[..., c]).max() <= (hi - lo) / 255 / 2 + 1e-5

    again = write_flow_images(prepared, method='farneback')
    assert again['counts']['resumed'] == 24 and again['counts']['done'] == 0
    redo = write_flow_images(prepared, method='farneback', size=(14, 14))  # other size: new files
    assert redo['counts']['done'] == 24


def test_unreadable_frame_is_a_counted_skip_or_strict_error(prepared, caplog):
    _, recs = load_annotations(osp.join(prepared, 'annotations.json'))
    bad = recs[3]
    path = osp.join(prepared, 'frames', bad['frame_dir'], bad['filename_tmpl'].format(bad['apex']))
    with open(path, 'wb') as f:
        f.write(b'not a jpeg')
    summary = write_flow_images(prepared, method='farneback')
    assert summary['counts']['skipped'] == 1 and summary['counts']['done'] == 23
    assert summary['skipped'][0]['sample_id'] == bad['sample_id']
    assert 'frame' in summary['skipped'][0]['reason'] and 'cannot decode image' in \
        summary['skipped'][0]['reason']
    assert any(bad['sample_id'] in r.message for r in caplog.records)
    _, out = load_annotations(osp.join(prepared, 'annotations_flow.json'))
    assert bad['sample_id'] not in {r['sample_id'] for r in out} and len(out) == 23
    with pytest.raises(FlowError, match=f"{bad['sample_id']}: .*strict"):
        write_flow_images(prepared, method='farneback', strict=True)


def test_missing_apex_middle_skip_or_error(prepared):
    meta, recs = load_annotations(osp.join(prepared, 'annotations.json'))
    recs[0] = dict(recs[0], apex=None)
    dump_annotations(recs, osp.join(prepared, 'annotations.json'), meta)
    s = write_flow_images(prepared, method='farneback')
    assert s['counts']['apex_middle'] == 1
    _, out = load_annotations(osp.join(prepared, 'annotations_flow.json'))
    assert out[0]['flow_frames'] == [recs[0]['onset'], (recs[0]['onset'] + recs[0]['offset']) // 2]
    assert write_flow_images(prepared, method='farneback',
                             missing_apex='skip')['counts']['skipped'] == 1
    with pytest.raises(FlowError, match='no apex'):
        write_flow_images(prepared, method='farneback', missing_apex='error')


def test_cli(prepared):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=osp.join(REPO_ROOT, 'projects'))
    out = subprocess.run([sys.executable, 'tools/data/compute_flow.py', prepared, '--size', '28',
                          '--out-ann', osp.join(prepared, 'flow.json')], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    method = resolve_method('auto')
    assert f'flow ({method}): 24 computed' in out.stdout
    assert f'onset-apex flow with {method}' in out.stderr  # the log says which method ran
    assert load_annotations(osp.join(prepared, 'flow.json'))[1][0]['flow_method'] == method
    import runpy
    tool = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'data', 'compute_flow.py'))
    with pytest.raises(SystemExit) as bad_size:  # argparse's usage error
        tool['main']([prepared, '--size', '1', '2', '3'])
    assert bad_size.value.code == 2
    assert tool['main']([prepared, '--method', 'tvl1']) == (0 if method == 'tvl1' else 2)
