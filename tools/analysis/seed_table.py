"""Mean +- std over seeds of LOSO runs, and a paired comparison over seeds against a baseline.

    python tools/analysis/seed_table.py work_dirs/lin_s{0,1,2,3,4} work_dirs/mer_s{0,1,2,3,4}
    python tools/analysis/seed_table.py RUNS... --names baseline MER-CLIP --baseline 0 --json t.json

Each argument is a ``tools/loso.py`` work dir (or its summary.json). Runs are grouped by config
(config hash, ``--cfg-options`` included; the seed is not part of it); each group gets UF1 / UAR /
ACC as mean +- sample std over its seeds, for the pooled predictions and, for a joint annotation
such as the MEGC2019 composite, for each source dataset. Every other group is compared with the
baseline group, paired by seed: mean difference, paired t-test, exact sign-flip test and a plain
verdict (a difference the t-test does not reject is a tie). Mixed runs (other folds, other test
samples, a seed twice) are an error. Library: :mod:`mer_clip.loso.seed_table`.
"""
import argparse
import json
import sys

from mer_clip.loso.seed_table import (group_runs, load_run, paired_comparison,
                                      seed_statistics, seed_table_markdown,
                                      train_seconds_per_fold)
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+', help='tools/loso.py work dirs (or their summary.json)')
    p.add_argument('--names', nargs='+', help='one label per config group, in order of first '
                   'appearance (default: the config names)')
    p.add_argument('--baseline', type=int, default=0,
                   help='index of the group the others are compared with (default: the first)')
    p.add_argument('--alpha', type=float, default=0.05,
                   help='level of the two-sided paired t-test behind the verdict')
    p.add_argument('--no-per-seed', action='store_true', help='leave out the per-seed table')
    p.add_argument('--json', help='also write the statistics and comparisons to this file')
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None):
    args = parse_args(argv)
    groups = group_runs([load_run(r) for r in args.runs], names=args.names)
    if not 0 <= args.baseline < len(groups):
        raise ValueError(f'--baseline {args.baseline}: there are {len(groups)} group(s)')
    sys.stdout.write(seed_table_markdown(groups, baseline=args.baseline, alpha=args.alpha,
                                         per_seed=not args.no_per_seed))
    if args.json:
        out = dict(std='sample std over seeds (n - 1)', alpha=args.alpha, groups=[
            dict(name=g.name, config=g.config, config_hash=g.config_hash, seeds=g.seeds,
                 work_dirs=[w for w, _ in g.runs], train_seconds_per_fold=train_seconds_per_fold(g),
                 stats=seed_statistics(g)) for g in groups])
        base = groups[args.baseline]
        out['comparisons'] = [dict(a=base.name, b=g.name, diff='b - a',
                                   result=paired_comparison(base, g, args.alpha))
                              for i, g in enumerate(groups) if i != args.baseline]
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)


def main(argv=None) -> int:
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
