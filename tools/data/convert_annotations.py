"""Convert a dataset's own annotation release into the canonical annotation JSON.

    python tools/data/convert_annotations.py samm   SAMM_Micro_FACS_Codes_v2.xlsx   data/samm.json
    python tools/data/convert_annotations.py casme2 CASME2-coding-20140508.xlsx     data/casme2.json
    python tools/data/convert_annotations.py casme3 "CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx" \
        data/casme3.json
    python tools/data/convert_annotations.py dfme train.xlsx test_A.xlsx test_B.xlsx data/dfme.json
    python tools/data/convert_annotations.py merclip_lists ../shared/data/merclip_official_lists \
        data/samm_lists.json --dataset samm

Prints the number of samples per raw emotion (and per split). Frame layouts and every parsing
decision are documented in ``mer_clip/datasets/readers/*.py`` and ``mer_clip/au/codes.py``.
"""
import argparse
import collections
import logging
import os.path as osp
import sys

import mer_clip  # noqa: F401  (registers; sets up the package)
from mer_clip.datasets.annotation import dump_annotations
from mer_clip.datasets.readers import READERS
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('source', choices=sorted(READERS), help='which release format INPUT is')
    p.add_argument('inputs', nargs='+', metavar='INPUT',
                   help='annotation file(s); DFME: one per split; merclip_lists: the lists root')
    p.add_argument('out', metavar='OUT_JSON', help='canonical annotation JSON to write')
    p.add_argument('--dataset', help='merclip_lists: samm / casme2 / casme3 / dfme')
    p.add_argument('--frame-dir-tmpl', help='override the frame folder template of the reader')
    p.add_argument('--filename-tmpl', help='override the frame file name template (e.g. '
                   '"img{}.jpg")')
    p.add_argument('--sheet', help='xlsx sheet name (default: the first sheet)')
    p.add_argument('--splits', nargs='+', help='dfme: split of each INPUT (train/test_a/test_b) '
                   'when the file names do not tell')
    p.add_argument('--on-error', choices=('raise', 'skip'), default='raise',
                   help='bad rows: stop (default) or skip them with a logged count')
    p.add_argument('--num-frames', type=int,
                   help='merclip_lists: frames per sample folder where the lists give no count')
    p.add_argument('--data-root', help='merclip_lists: frame folders, to count frames')
    add_debug_argument(p)
    return p.parse_args(argv)


def convert(args):
    kwargs = {}
    if args.filename_tmpl:
        kwargs['filename_tmpl'] = args.filename_tmpl
    if args.source == 'merclip_lists':
        if not args.dataset or len(args.inputs) != 1:
            sys.exit('merclip_lists needs one INPUT (the lists root) and --dataset')
        records = READERS['merclip_lists'](args.dataset, args.inputs[0], num_frames=args.num_frames,
                                           data_root=args.data_root, **kwargs)
        name = args.dataset
    else:
        kwargs.update(sheet=args.sheet, on_error=args.on_error)
        if args.frame_dir_tmpl:
            kwargs['frame_dir_tmpl'] = args.frame_dir_tmpl
        if args.source == 'dfme':
            records = READERS['dfme'](*args.inputs, splits=args.splits, **kwargs)
        else:
            if len(args.inputs) != 1:
                sys.exit(f'{args.source} takes one INPUT file')
            records = READERS[args.source](args.inputs[0], **kwargs)
        name = args.source
    meta = dict(dataset_name=name, source=[osp.basename(p) for p in args.inputs])
    dump_annotations(records, args.out, meta)
    return records


def run(argv=None):
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    args = parse_args(argv)
    records = convert(args)  # user errors (AnnotationError, ...): one line, by run_tool
    by_split = collections.defaultdict(collections.Counter)
    for r in records:
        by_split[r.get('split', 'all')][r['emotion']] += 1
    print(f'wrote {len(records)} samples to {args.out}')
    for split, counts in by_split.items():
        print(f'[{split}] ' + ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) +
              f' (total {sum(counts.values())})')


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
