"""bench/gpu_check_checks.py: the checks of bench/gpu_check.sh beyond exit codes.

resume: a log that resumed epoch 1 and a complete epoch-2 checkpoint pass; no resume line, epoch
1 trained again, a checkpoint of another epoch or a damaged one fail with the file named.
same-predictions: equal files pass (a label flip at a tie too); other samples or scores fail.
fold-checkpoint: the checkpoint of fold.json, or a clear error for an unfinished fold.
"""
import json
import os.path as osp

import torch

from mer_clip.checkpoint import save_checkpoint
from tests.bench.bench_import import load_bench

checks = load_bench('gpu_check_checks')

RESUMED_LOG = '''12/07 15:45:12 - mmengine - INFO - Load checkpoint from {ckpt}
12/07 15:45:12 - mmengine - INFO - resumed epoch: 1, iter: 1
12/07 15:45:13 - mmengine - INFO - Epoch(train) [2][1/1]  lr: 1e-4  loss: 1.9
12/07 15:45:13 - mmengine - INFO - Saving checkpoint at 2 epochs
'''


def _run(tmp_path, epoch=2, log=RESUMED_LOG):
    work = tmp_path / 'train'
    work.mkdir(exist_ok=True)
    ckpt = str(work / 'epoch_2.pth')
    save_checkpoint(dict(meta=dict(epoch=epoch, iter=2), state_dict=dict(w=torch.zeros(2))), ckpt)
    (work / 'last_checkpoint').write_text(ckpt)
    (tmp_path / 'resume.out').write_text(log.format(ckpt=ckpt))
    return str(work), str(tmp_path / 'resume.out'), ckpt


def _main(args, capsys):
    rc = checks.main(args)
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_resume_passes_on_a_resumed_run(tmp_path, capsys):
    work, log, ckpt = _run(tmp_path)
    rc, out = _main(['resume', work, log, '--epoch', '2', '--json', str(tmp_path / 'r.json')],
                    capsys)
    assert rc == 0, out
    assert json.loads((tmp_path / 'r.json').read_text()) == dict(
        resumed_from_epoch=1, checkpoint=ckpt, meta_epoch=2, meta_iter=2)


def test_resume_fails_when_the_run_started_over(tmp_path, capsys):
    work, log, _ = _run(tmp_path, log='Did not find last_checkpoint to be resumed.\n'
                        'Epoch(train) [1][1/1] loss: 2\nEpoch(train) [2][1/1] loss: 1\n')
    rc, out = _main(['resume', work, log, '--epoch', '2'], capsys)
    assert rc == 1 and 'no "resumed epoch: 1" line (found none)' in out and log in out


def test_resume_fails_when_epoch_1_is_trained_again(tmp_path, capsys):
    work, log, _ = _run(tmp_path, log=RESUMED_LOG + 'Epoch(train)  [1][1/1] loss: 2\n')
    rc, out = _main(['resume', work, log, '--epoch', '2'], capsys)
    assert rc == 1 and 'epoch(s) [1] were trained again' in out


def test_resume_fails_on_the_wrong_or_a_damaged_checkpoint(tmp_path, capsys):
    work, log, ckpt = _run(tmp_path, epoch=1)
    rc, out = _main(['resume', work, log, '--epoch', '2'], capsys)
    assert rc == 1 and f'{ckpt}: meta epoch 1, expected 2' in out
    work, log, ckpt = _run(tmp_path)
    with open(ckpt, 'r+b') as f:  # one flipped byte: the sha256 sidecar no longer matches
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 1]))
    rc, out = _main(['resume', work, log, '--epoch', '2'], capsys)
    assert rc == 1 and ckpt in out


HEADER = 'sample_id,subject,gt,pred,score_negative,score_positive\n'


def _csv(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(HEADER + ''.join(f'{r}\n' for r in rows))
    return str(path)


def test_same_predictions(tmp_path, capsys):
    a = _csv(tmp_path, 'a.csv', ['x1,s1,0,0,0.7,0.3', 'x2,s1,1,1,0.2,0.8'])
    same = _csv(tmp_path, 'b.csv', ['x2,s1,1,1,0.2001,0.7999', 'x1,s1,0,0,0.7,0.3'])
    assert _main(['same-predictions', a, same], capsys)[0] == 0
    tie = _csv(tmp_path, 't.csv', ['x1,s1,0,0,0.5,0.5', 'x2,s1,1,1,0.2,0.8'])
    tie2 = _csv(tmp_path, 't2.csv', ['x1,s1,0,1,0.5,0.5', 'x2,s1,1,1,0.2,0.8'])
    assert _main(['same-predictions', tie, tie2], capsys)[0] == 0
    other = _csv(tmp_path, 'c.csv', ['x1,s1,0,1,0.4,0.6', 'x2,s1,1,1,0.2,0.8'])
    rc, out = _main(['same-predictions', a, other], capsys)
    assert rc == 1 and 'scores differ by up to 0.3' in out and "['x1']" in out
    fewer = _csv(tmp_path, 'd.csv', ['x1,s1,0,0,0.7,0.3'])
    rc, out = _main(['same-predictions', a, fewer], capsys)
    assert rc == 1 and "only in the first: ['x2']" in out


def test_fold_checkpoint(tmp_path, capsys):
    fold = tmp_path / 'fold_s01'
    fold.mkdir()
    rc, out = _main(['fold-checkpoint', str(tmp_path), 's01'], capsys)
    assert rc == 1 and 'fold s01 did not finish' in out
    (fold / 'epoch_1.pth').write_bytes(b'x')
    (fold / 'fold.json').write_text(json.dumps(dict(checkpoint='fold_s01/epoch_1.pth')))
    rc, out = _main(['fold-checkpoint', str(tmp_path), 's01'], capsys)
    assert rc == 0 and out.strip() == osp.join(str(tmp_path), 'fold_s01', 'epoch_1.pth')
