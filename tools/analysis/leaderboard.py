"""The MEGC2019-composite leaderboard from LOSO work dirs: honest, leaky and published side by side.

    python tools/analysis/leaderboard.py work_dirs/ststnet/seed{0..9} \
        work_dirs/ststnet_unsafe/seed{0,1,2} work_dirs/htnet-small/seed{0..9} \
        --method ststnet_flow-28px_1xb32-40e_megc2019-3cls=STSTNet --seeds 10 --leaky-seeds 3 \
        --baseline STSTNet --out docs/leaderboard.md --figure docs/leaderboard.png

Each argument is a ``tools/loso.py`` work dir. Runs with ``--select-on-test-fold-UNSAFE`` are the
leaky column of their method; the others the honest one. Leave-one-dataset-out runs
(``--protocol lodo``) make the cross-dataset table, the same methods' names (``--cross-seeds``
asked for). ``--method CONFIG=NAME`` names a
config's method (default: the config name; the table of published numbers is keyed by method
name, e.g. STSTNet, OFF-ApexNet, HTNet). Work dirs of another protocol, class set, data set or
fold set are an error; methods with fewer seeds than ``--seeds`` / ``--leaky-seeds`` are marked.
Library: :mod:`mer_clip.loso.leaderboard`.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mer_clip.loso.leaderboard import (PUBLISHED_FILE, LeaderboardError, build_methods,
                                       check_comparable, cross_dataset_rows,
                                       leaderboard_markdown, leaderboard_rows,
                                       load_leaderboard_run, load_published, plot_leaderboard,
                                       split_protocols)
from mer_clip.utils.cli import add_debug_argument, run_tool


def load_published_folds(path: str) -> int:
    """The number of LOSO folds the table of published numbers covers."""
    with open(path) as f:
        return json.load(f).get('num_folds')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+', help='tools/loso.py work dirs')
    p.add_argument('--method', action='append', default=[], metavar='CONFIG=NAME',
                   help="the method of a config's runs (repeatable)")
    p.add_argument('--seeds', type=int, help='honest seeds asked for per method (fewer: marked)')
    p.add_argument('--leaky-seeds', type=int, help='leaky seeds asked for (fewer: marked)')
    p.add_argument('--cross-seeds', type=int,
                   help='leave-one-dataset-out seeds asked for per method (fewer: marked)')
    p.add_argument('--baseline', help='method the others are paired against (e.g. STSTNet)')
    p.add_argument('--alpha', type=float, default=0.05, help='level of the paired t-test')
    p.add_argument('--published', default=PUBLISHED_FILE, help='table of published numbers')
    p.add_argument('--out', help='write the Markdown here (default: print it)')
    p.add_argument('--figure', help='write the composite UF1 picture here (PNG)')
    p.add_argument('--json', help='also write the rows as JSON')
    p.add_argument('--note', help='a paragraph under the title: what these runs are')
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None):
    args = parse_args(argv)
    method_of = {}
    for item in args.method:
        if '=' not in item:
            raise LeaderboardError(f'--method {item!r}: expected CONFIG=NAME')
        config, name = item.split('=', 1)
        method_of[osp.splitext(osp.basename(config))[0]] = name
    loso, lodo = split_protocols([load_leaderboard_run(w) for w in args.work_dirs])
    if loso:
        check_comparable(loso)
    if lodo:
        check_comparable(lodo, fold_key='dataset')
    methods = build_methods(loso, method_of)
    cross = build_methods(lodo, method_of)
    folds = len(loso[0].summary.per_fold) if loso else None
    published = load_published(args.published, num_folds=folds) if loso else {}
    if loso and not published:
        note = (f'Published numbers left out: they cover the {load_published_folds(args.published)}'
                f'-fold composite, these runs {folds} folds.')
        args.note = f'{args.note} {note}' if args.note else note
    figure_ref = None
    if args.figure and methods:
        plot_leaderboard(methods, published, args.figure)
        base = osp.dirname(osp.abspath(args.out)) if args.out else os.getcwd()
        figure_ref = osp.relpath(osp.abspath(args.figure), base)
    text = leaderboard_markdown(methods, published, seeds=args.seeds,
                                leaky_seeds=args.leaky_seeds, baseline=args.baseline,
                                alpha=args.alpha, figure=figure_ref, note=args.note,
                                cross=cross, cross_seeds=args.cross_seeds)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
        print(f'[leaderboard] {args.out}' + (f', {args.figure}' if figure_ref else ''))
    else:
        sys.stdout.write(text)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(composite=leaderboard_rows(methods, published),
                           cross_dataset=cross_dataset_rows(cross)), f, indent=1)


def main(argv=None) -> int:
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
