"""What bench/gpu_check.sh checks beyond a tool's exit status, one subcommand per check.

    resume WORK_DIR LOG --epoch N [--json OUT]   tools/train.py --resume continued epoch N-1's run:
        the log says ``resumed epoch: N-1``, trains no epoch up to N-1 again, and the checkpoint
        that ``last_checkpoint`` names is complete (sha256) with ``meta.epoch == N``
    fold-checkpoint LOSO_DIR FOLD                 print the checkpoint a finished LOSO fold was
        tested on (its fold.json)
    same-predictions A.csv B.csv [--tol T] [--json OUT]   two per-sample prediction files (the
        --dump of tools/test.py, a fold's predictions.csv) have the same samples and labels, and
        scores within T

Each ends with one line: what was checked, or ``error: ...`` naming the file and the difference
(exit status 1).
"""
import argparse
import csv
import json
import os.path as osp
import re
import sys


class CheckFailed(Exception):
    """A check that did not hold; the message names the file and what differs."""


def _write(path, obj):
    if path:
        with open(path, 'w') as f:
            json.dump(obj, f, indent=1)


def check_resume(work_dir, log, epoch):
    """The facts of a resumed run that ends at ``epoch`` (see the module docstring)."""
    text = open(log, errors='replace').read()
    mark = f'resumed epoch: {epoch - 1},'
    if mark not in text:
        found = re.findall(r'resumed epoch: \d+', text)
        raise CheckFailed(f'{log}: no "{mark[:-1]}" line (found {found or "none"}): the run did '
                          'not resume from the previous epoch')
    after = text.split(mark, 1)[1]
    again = sorted({int(e) for e in re.findall(r'Epoch\(train\)\s*\[(\d+)\]', after)
                    if int(e) < epoch})
    if again:
        raise CheckFailed(f'{log}: after resuming, epoch(s) {again} were trained again')
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(last):
        raise CheckFailed(f'{last}: missing; the resumed run saved no checkpoint')
    ckpt = open(last).read().strip()
    from mer_clip.checkpoint import read_checkpoint  # torch: only for this check
    meta = read_checkpoint(ckpt, verify=True).get('meta', {})
    if meta.get('epoch') != epoch:
        raise CheckFailed(f'{ckpt}: meta epoch {meta.get("epoch")}, expected {epoch}')
    return dict(resumed_from_epoch=epoch - 1, checkpoint=ckpt, meta_epoch=meta['epoch'],
                meta_iter=meta.get('iter'))


def fold_checkpoint(loso_dir, fold):
    """The tested checkpoint of finished fold ``fold``, from its fold.json."""
    info = osp.join(loso_dir, f'fold_{fold}', 'fold.json')
    if not osp.exists(info):
        raise CheckFailed(f'{info}: missing; fold {fold} did not finish')
    with open(info) as f:
        ckpt = json.load(f).get('checkpoint')
    path = ckpt if ckpt is None or osp.isabs(ckpt) else osp.join(loso_dir, ckpt)
    if not path or not osp.isfile(path):
        raise CheckFailed(f'{info}: its checkpoint {path} is not there')
    return path


def _read_predictions(path):
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise CheckFailed(f'{path}: no predictions')
    return {r['sample_id']: r for r in rows}


def same_predictions(a, b, tol):
    """Same samples, ground truths and score columns; scores within ``tol``; predicted labels
    equal except where the two top scores are within ``tol`` (a tie)."""
    pa, pb = _read_predictions(a), _read_predictions(b)
    if set(pa) != set(pb):
        raise CheckFailed(f'{a} vs {b}: different samples (only in the first: '
                          f'{sorted(set(pa) - set(pb))[:5]}, only in the second: '
                          f'{sorted(set(pb) - set(pa))[:5]})')
    cols = [c for c in next(iter(pa.values())) if c.startswith('score_')]
    worst, flips = 0.0, []
    for sid, ra in pa.items():
        rb = pb[sid]
        if ra['gt'] != rb['gt']:
            raise CheckFailed(f'{a} vs {b}: sample {sid} has ground truth {ra["gt"]} vs '
                              f'{rb["gt"]}')
        sa, sb = [float(ra[c]) for c in cols], [float(rb[c]) for c in cols]
        worst = max(worst, max(abs(x - y) for x, y in zip(sa, sb)))
        top = sorted(sa, reverse=True)
        if ra['pred'] != rb['pred'] and (len(top) < 2 or top[0] - top[1] > tol):
            flips.append(sid)
    if worst > tol or flips:
        raise CheckFailed(f'{a} vs {b}: scores differ by up to {worst:.2g} (tolerance {tol}); '
                          f'labels differ for {flips[:5]}')
    return dict(samples=len(pa), max_score_diff=worst, tolerance=tol)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='check', required=True)
    r = sub.add_parser('resume')
    r.add_argument('work_dir')
    r.add_argument('log')
    r.add_argument('--epoch', type=int, required=True)
    r.add_argument('--json')
    c = sub.add_parser('fold-checkpoint')
    c.add_argument('loso_dir')
    c.add_argument('fold')
    s = sub.add_parser('same-predictions')
    s.add_argument('a')
    s.add_argument('b')
    s.add_argument('--tol', type=float, default=1e-3)
    s.add_argument('--json')
    args = p.parse_args(argv)
    try:
        if args.check == 'resume':
            res = check_resume(args.work_dir, args.log, args.epoch)
            _write(args.json, res)
            print(f'resume: epoch {res["resumed_from_epoch"]} -> {res["meta_epoch"]}, '
                  f'{res["checkpoint"]} complete')
        elif args.check == 'fold-checkpoint':
            print(fold_checkpoint(args.loso_dir, args.fold))
        else:
            res = same_predictions(args.a, args.b, args.tol)
            _write(args.json, res)
            print(f'same predictions: {res["samples"]} samples, scores within '
                  f'{res["max_score_diff"]:.2g}')
    except (CheckFailed, OSError, RuntimeError) as e:  # RuntimeError: mer_clip's CheckpointError
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
