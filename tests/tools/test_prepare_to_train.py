"""A fabricated SAMM-layout release goes through tools/data/prepare_dataset.py into a training run of
the synthetic-size MER-CLIP config, with no manual step in between (issue: data preparation)."""
import os.path as osp
import sys

import pytest

pytest.importorskip('dlib')
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG  # noqa: E402
from tests.preprocessing.test_prepare import fab_samm  # noqa: E402
from tests.tools.test_train_test_tools import run  # noqa: E402


@pytest.mark.slow
def test_samm_release_prepares_and_trains(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'samm')
    fab_samm(raw)
    run([sys.executable, 'tools/data/prepare_dataset.py', 'samm', raw, out, '--size', '64',
         '--cache', '--clip-len', '8'])
    cfg = tmp_path / 'cfg.py'
    ann, frames = osp.join(out, 'annotations.json'), osp.join(out, 'frames')
    cfg.write_text(f'''
_base_ = [{osp.join(REPO_ROOT, SYNTHETIC_CONFIG)!r}]
_ds = dict(ann_file={ann!r}, data_prefix=dict(img={frames!r}), class_scheme='samm_5')
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=_ds)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=_ds)
test_dataloader = val_dataloader
model = dict(cls_head=dict(num_classes=5))
train_cfg = dict(max_epochs=1, val_interval=1)
''')
    work = str(tmp_path / 'work')
    log = run([sys.executable, 'tools/train.py', str(cfg), '--loso-subject', '007',
               '--work-dir', work])
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'mer/UF1' in log  # validated on the held-out subject's prepared clip
