"""Compare two experiments (e.g. an ablation) side by side from their summary.json.

    python tools/compare_runs.py work_dirs/full_loso work_dirs/no_align_loso [--names full no_align]

Prints headline metrics, per-class F1 and per-fold UF1 with B - A deltas (for a joint annotation
such as the MEGC2019 composite: the composite and each source dataset), and warns when the two runs
do not cover the same folds / samples / protocol (then the numbers are not comparable).
"""
import argparse
import os.path as osp
import sys

from mer_clip.loso.summary import METRICS, LOSOSummary
from mer_clip.utils.cli import run_tool


def _f(x):
    return '-' if x is None else f'{x:.4f}'


def _d(a, b):
    return '-' if a is None or b is None else f'{b - a:+.4f}'


def _table(title, rows, names):
    out = [f'## {title}', '', f'| | {names[0]} | {names[1]} | delta ({names[1]} - {names[0]}) |',
           '| --- | --- | --- | --- |']
    out += [f'| {k} | {_f(a)} | {_f(b)} | {_d(a, b)} |' for k, a, b in rows]
    return out + ['']


def compare(a: LOSOSummary, b: LOSOSummary, names=('A', 'B')) -> str:
    lines, warnings = [], []
    if a.protocol != b.protocol:
        warnings.append(f'protocols differ: {a.protocol} vs {b.protocol}')
    elif (a.fold_key or 'subject') != (b.fold_key or 'subject'):
        warnings.append(f"folds are by {a.fold_key or 'subject'!r} in {names[0]}, by "
                        f"{b.fold_key or 'subject'!r} in {names[1]}")
    if a.classes != b.classes:
        warnings.append(f'class lists differ: {a.classes} vs {b.classes}')
    fa = {f['fold']: f for f in a.per_fold}
    fb = {f['fold']: f for f in b.per_fold}
    if set(fa) != set(fb):
        warnings.append(f'folds differ: only in {names[0]}: {sorted(set(fa) - set(fb))}, only in '
                        f'{names[1]}: {sorted(set(fb) - set(fa))}')
    ga, gb = a.groups(), b.groups()
    if set(ga) != set(gb):
        warnings.append(f'reported groups differ: {sorted(ga)} vs {sorted(gb)}')
    for g in ga:
        if g in gb and ga[g]['num_samples'] != gb[g]['num_samples']:
            warnings.append(f"{g}: {ga[g]['num_samples']} vs {gb[g]['num_samples']} samples")
    if a.checkpoint_rule != b.checkpoint_rule:
        warnings.append(f'checkpoint_rule differs: {a.checkpoint_rule!r} vs '
                        f'{b.checkpoint_rule!r}')
    lines += [f'# {names[0]} vs {names[1]}', '']
    for label, s in zip(names, (a, b)):
        lines.append(f'- {label}: {s.config} (config sha256 {str(s.config_hash)[:12]}, '
                     f"seed {(s.seeds or {}).get('base')}, {s.checkpoint_rule})")
    lines.append('')
    for g in ga:
        if g not in gb:
            continue
        rows = [(k, ga[g][k], gb[g][k]) for k in METRICS]
        if a.protocol == 'loso' and b.protocol == 'loso' and g == 'pooled':
            rows += [(f'subject mean {k} (reference)', a.subject_mean[k], b.subject_mean[k])
                     for k in METRICS]
        lines += _table(f'Headline ({g})', rows, names)
        if a.classes == b.classes:
            lines += _table(f'Per-class F1 ({g})', [
                (c, ga[g]['per_class'][c]['f1'], gb[g]['per_class'][c]['f1'])
                for c in a.classes], names)
    common = [f for f in fa if f in fb]
    if common:
        lines += _table('Per-fold UF1', [(f, fa[f]['UF1'], fb[f]['UF1']) for f in common], names)
    if warnings:
        lines += ['**Not directly comparable:**', ''] + [f'- {w}' for w in warnings] + ['']
    return '\n'.join(lines)


def run(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('run_a', help='work dir (or summary.json) of run A')
    p.add_argument('run_b', help='work dir (or summary.json) of run B')
    p.add_argument('--names', nargs=2, help='labels of the two runs (default: folder names)')
    args = p.parse_args(argv)
    names = args.names or [osp.basename(osp.normpath(r)) or r for r in (args.run_a, args.run_b)]
    if names[0] == names[1]:
        names = ['A: ' + names[0], 'B: ' + names[1]]
    sys.stdout.write(compare(LOSOSummary.load(args.run_a), LOSOSummary.load(args.run_b), names))


def main(argv=None) -> int:
    """The tool, with a missing or damaged summary reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
