"""Resumability end to end: kill tools/loso.py after fold 1 and in the middle of fold 2 (after its
epoch-1 checkpoint), start it again, and get byte-identical predictions to uninterrupted training.

Real training on the synthetic set (tiny model, EPOCHS epochs, validation every epoch so that the
resumed run skips a validation the uninterrupted one ran, dataloader workers on). EPOCHS = 3: the
kill comes after fold 2's epoch 1, so two resumed epochs (each with a validation) follow. 6 epochs
were needed while prompt features depended on the batch in which a prompt was first encoded (a
resume starts with an empty cache); CLIPTextEncoder now encodes each prompt alone, so the resumed
weights are compared bit for bit with the reference besides the predictions.
The uninterrupted reference of fold 2 runs alongside the interrupted run to save wall time.
"""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mer_clip.evaluation import read_predictions_csv
from mer_clip.loso import build_summary

EPOCHS = 3


def _loso(repo_root, config, work_dir, subjects, opts, log):
    cmd = [sys.executable, osp.join(repo_root, 'tools', 'loso.py'), config, '--work-dir',
           work_dir, '--seed', '7', '--subjects', *subjects, '--no-plots', '--cfg-options', *opts]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.Popen(cmd, cwd=repo_root, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def _wait(proc, timeout, what):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        raise AssertionError(f'{what} did not finish in {timeout}s')


def test_interrupted_run_equals_uninterrupted(synthetic_root, synthetic_config, data_options,
                                              repo_root, tmp_path):
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        subjects = sorted({r['subject'] for r in json.load(f)['data_list']})[:2]
    first, second = subjects
    opts = data_options(synthetic_root) + [
        f'train_cfg.max_epochs={EPOCHS}', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=1', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False']
    run, ref = str(tmp_path / 'interrupted'), str(tmp_path / 'reference')
    log_run = open(tmp_path / 'run.log', 'w')
    log_ref = open(tmp_path / 'ref.log', 'w')

    # uninterrupted reference of the second fold, in parallel with the interrupted run
    p_ref = _loso(repo_root, synthetic_config, ref, [second], opts, log_ref)
    p_run = _loso(repo_root, synthetic_config, run, subjects, opts, log_run)
    fold2 = osp.join(run, f'fold_{second}')
    deadline = time.time() + 400
    while not (osp.exists(osp.join(fold2, 'last_checkpoint'))
               and 'epoch_1' in open(osp.join(fold2, 'last_checkpoint')).read()):
        assert p_run.poll() is None, open(tmp_path / 'run.log').read()[-3000:]
        assert time.time() < deadline, 'fold 2 never reached its epoch-1 checkpoint'
        time.sleep(0.2)
    os.killpg(p_run.pid, signal.SIGTERM)  # mid-fold 2: after fold 1 and after fold 2's epoch 1
    assert p_run.wait(timeout=60) != 0
    assert osp.exists(osp.join(run, f'fold_{first}', 'predictions.csv'))  # fold 1 was done
    assert not osp.exists(osp.join(fold2, 'predictions.csv'))
    assert not osp.exists(osp.join(fold2, f'epoch_{EPOCHS}.pth'))

    log_run2 = open(tmp_path / 'run2.log', 'w')
    p_run2 = _loso(repo_root, synthetic_config, run, subjects, opts, log_run2)
    assert _wait(p_run2, 400, 'restarted run') == 0, open(tmp_path / 'run2.log').read()[-3000:]
    assert _wait(p_ref, 400, 'reference run') == 0, open(tmp_path / 'ref.log').read()[-3000:]

    out = open(tmp_path / 'run2.log').read()
    assert '1 of 2 folds already done' in out
    logs = sorted(glob.glob(osp.join(fold2, '*', '*.log')))
    assert len(logs) == 2 and 'resumed epoch: 1' in open(logs[-1]).read()

    # same predictions (the files' bytes: 6-decimal scores) and same pooled numbers
    resumed = open(osp.join(fold2, 'predictions.csv'), 'rb').read()
    reference = open(osp.join(ref, f'fold_{second}', 'predictions.csv'), 'rb').read()
    assert resumed == reference
    weights = [torch.load(osp.join(d, f'epoch_{EPOCHS}.pth'), weights_only=True)['state_dict']
               for d in (fold2, osp.join(ref, f'fold_{second}'))]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[1])
    # finished folds keep only the checkpoint they were tested with (and its sha256)
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(fold2, '*.pth*'))) == [
        f'epoch_{EPOCHS}.pth', f'epoch_{EPOCHS}.pth.sha256']
    with open(osp.join(run, 'summary.json')) as f:
        summary = json.load(f)
    rows = []
    for fold, path in ((first, osp.join(run, f'fold_{first}', 'predictions.csv')),
                       (second, osp.join(ref, f'fold_{second}', 'predictions.csv'))):
        rows += [dict(r, fold=fold) for r in read_predictions_csv(path)]
    expected = build_summary('loso', {'pooled': rows}, summary['classes'])
    for key in ('UF1', 'UAR', 'ACC', 'confusion_matrix'):
        assert summary['pooled'][key] == expected.pooled[key]
    assert summary['checkpoint_rule'].startswith('last epoch')
    assert summary['seeds']['base'] == 7 and len(summary['config_hash']) == 64

    # the fold's last checkpoint, published for the model zoo, reproduces the fold's predictions
    # through the inference API (publish -> weights_only load -> inference_me_clip)
    from mer_clip.apis import inference_me_clip, init_recognizer
    from mer_clip.apis.checkpoint import publish_checkpoint
    published, digest = publish_checkpoint(osp.join(fold2, f'epoch_{EPOCHS}.pth'),
                                           str(tmp_path / 'zoo'))
    assert osp.basename(published) == f'zoo-{digest[:8]}.pth'
    model = init_recognizer(osp.join(repo_root, synthetic_config), published)
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        rec = next(r for r in json.load(f)['data_list'] if r['subject'] == second)
    probs = inference_me_clip(model, osp.join(synthetic_root, 'frames', rec['frame_dir']),
                              onset=rec['onset'], apex=rec['apex'], offset=rec['offset'])
    row = next(r for r in read_predictions_csv(osp.join(fold2, 'predictions.csv'))
               if r['sample_id'] == rec['sample_id'])
    assert list(probs.values()) == pytest.approx(row['scores'], abs=2e-6)
