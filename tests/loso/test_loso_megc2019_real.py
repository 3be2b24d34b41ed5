"""A 2-fold LOSO through tools/loso.py on a slice of the real MEGC2019 composite (the HTNet
release converted by tools/data/convert_annotations.py, AUs from the real sheets): MER-CLIP's heads
on the real flow images, SMIC samples without AUs, in-process folds, pooled and per-dataset reports
with their figures."""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.datasets.readers.megc2019_htnet import CSV_NAME
from tests.conftest import REPO_ROOT, SHARED_SHEETS, load_tool

RELEASE = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'megc2019_composite_htnet')
# one subject of each dataset, and one more, so that every fold trains on three datasets
SUBJECTS = {('casme2', 'sub01'), ('samm', '006'), ('smic', 's01'), ('casme2', 'sub02')}


@pytest.mark.skipif(not osp.isdir(RELEASE),
                    reason=f'published MEGC2019 composite absent: {RELEASE}')
@pytest.mark.skipif(not osp.isdir(SHARED_SHEETS), reason=f'real sheets absent: {SHARED_SHEETS}')
def test_two_folds_on_real_flow_images(tmp_path, capsys):
    # the release, sliced: its CSV restricted to four subjects, its image folders linked
    release = tmp_path / 'release'
    release.mkdir()
    os.symlink(osp.join(RELEASE, 'datasets'), release / 'datasets')
    with open(osp.join(RELEASE, CSV_NAME)) as f:
        rows = list(csv.reader(f))
    kept = [r for r in rows[1:] if (r[0], r[1]) in SUBJECTS]
    with open(release / CSV_NAME, 'w', newline='') as f:
        csv.writer(f).writerows(rows[:1] + kept)
    data = tmp_path / 'data'
    tool = load_tool('tools/data/convert_annotations.py')
    assert tool.main(['megc2019_htnet', str(release), str(data / 'annotations.json'),
                      '--casme2-sheet',
                      osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx'),
                      '--samm-sheet',
                      osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx')]) == 0
    printed = capsys.readouterr().out
    per = {ds: sum(r[0] == ds for r in kept) for ds in ('casme2', 'samm', 'smic')}
    assert (f'{len(kept)} samples of 4 subjects; casme2 {per["casme2"]} ({per["casme2"]} with '
            f'AUs), samm {per["samm"]} ({per["samm"]} with AUs), smic {per["smic"]} (0 with AUs)'
            ) in printed
    env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    cfg = 'configs/megc2019/mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls.py'
    opts = ['train_cfg.max_epochs=3', 'train_cfg.val_interval=3', 'param_scheduler.1.end=3',
            'param_scheduler.1.T_max=2']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.ann_file={data / "annotations.json"}',
                 f'{loader}.dataset.data_prefix.img={data}']
    work = tmp_path / 'loso'
    out = subprocess.run(
        [sys.executable, 'tools/loso.py', cfg, '--work-dir', str(work), '--subjects',
         'samm_006', 'smic_s01', '--cfg-options', *opts],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert 'fold mode inprocess' in out.stdout
    assert '[loso] dataset samm: UF1' in out.stdout and '[loso] dataset smic: UF1' in out.stdout
    summary = json.load(open(work / 'summary.json'))
    assert summary['num_folds'] == 2
    assert set(summary['per_dataset']) == {'samm', 'smic'}
    with open(work / 'predictions.csv') as f:
        preds = list(csv.DictReader(f))
    assert len(preds) == per['samm'] + per['smic']
    assert {p['subject'] for p in preds} == {'samm_006', 'smic_s01'}
    for png in ('confusion_matrix.png', 'per_fold.png'):
        assert os.path.getsize(work / png) > 1000
