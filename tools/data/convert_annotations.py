"""Convert a dataset's own annotation release into the canonical annotation JSON.

    python tools/data/convert_annotations.py samm   SAMM_Micro_FACS_Codes_v2.xlsx   data/samm.json
    python tools/data/convert_annotations.py casme2 CASME2-coding-20190701.xlsx     data/casme2.json
    python tools/data/convert_annotations.py casme3 "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx" \
        data/casme3.json
    python tools/data/convert_annotations.py smic   /data/raw/SMIC/HS              data/smic.json
    python tools/data/convert_annotations.py smic_e SMIC-HS-E_annotation.xlsx      data/smic_e.json
    python tools/data/convert_annotations.py dfme train.xlsx test_A.xlsx test_B.xlsx data/dfme.json
    python tools/data/convert_annotations.py merclip_lists ../shared/data/merclip_official_lists \
        data/samm_lists.json --dataset samm
    python tools/data/convert_annotations.py megc2019_htnet /data/megc2019_composite_htnet \
        data/megc2019_htnet/annotations.json --casme2-sheet CASME2-coding-20190701.xlsx \
        --samm-sheet SAMM_Micro_FACS_Codes_v2.xlsx

``megc2019_htnet`` reads the MEGC2019 composite as the HTNet authors published it (CSV + apex
images + 28 x 28 flow images; every image is checked) into image-only records (``apex_image``,
``flow_image`` relative to ``--image-root``, default the output's folder, which is the
``data_prefix`` of ``configs/_base_/datasets/megc2019_flow.py``), subjects namespaced by dataset
(``casme2_sub01``); the coding sheets attach AUs and raw emotions by id (SMIC has none).

Every release sheet converts as it is (xlsx, or a CSV export of it): non-standard cells are read
(SAMM's ``A12``, ``ref(6)``, ``L12 or L14``), contradictory frame numbers are repaired by the
documented policy (``mer_clip/datasets/readers/frame_policy.py``), and each of them is listed in the
conversion report written beside the JSON (``OUT.conversion.json`` / ``OUT.conversion.md``), whose
summary (counts per kind) is printed. ``--strict`` makes every warning an error; all problems of a
sheet are reported in one run. Prints the number of samples per emotion (and per split).
"""
import argparse
import collections
import logging
import os.path as osp
import sys

import mer_clip  # noqa: F401  (registers; sets up the package)
from mer_clip.datasets.annotation import dump_annotations
from mer_clip.datasets.class_schemes import normalize_emotion
from mer_clip.datasets.readers import READERS, ConversionReport
from mer_clip.utils.cli import add_debug_argument, run_tool

SHEET_SOURCES = ('samm', 'casme2', 'casme3', 'smic_e', 'dfme')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('source', choices=sorted(READERS), help='which release format INPUT is')
    p.add_argument('inputs', nargs='+', metavar='INPUT',
                   help='annotation file(s) (xlsx or csv); DFME: one per split; smic: the SMIC-HS '
                   'release folder; merclip_lists: the lists root')
    p.add_argument('out', metavar='OUT_JSON', help='canonical annotation JSON to write')
    p.add_argument('--dataset', help='merclip_lists: samm / casme2 / casme3 / dfme')
    p.add_argument('--frame-dir-tmpl', help='override the frame folder template of the reader')
    p.add_argument('--filename-tmpl', help='override the frame file name template (e.g. '
                   '"img{}.jpg")')
    p.add_argument('--sheet', help='xlsx sheet name (default: the first sheet; smic_e: HS)')
    p.add_argument('--splits', nargs='+', help='dfme: split of each INPUT (train/test_a/test_b) '
                   'when the file names do not tell')
    p.add_argument('--on-error', choices=('raise', 'skip'), default='raise',
                   help='rows that cannot be converted: stop after listing all of them (default) '
                   'or drop them, each listed in the conversion report')
    p.add_argument('--strict', action='store_true',
                   help='every warning of the conversion report is an error (repaired frame '
                   'numbers, unreadable AU text, ...)')
    p.add_argument('--wrong-list', help="casme3: the release's list of wrongly labelled MEs "
                   "(default: found beside the sheet; 'none' to ignore it)")
    p.add_argument('--drop-listed', action='store_true',
                   help='casme3: drop the rows that list names instead of flagging them')
    p.add_argument('--num-frames', type=int,
                   help='merclip_lists: frames per sample folder where the lists give no count')
    p.add_argument('--data-root', help='merclip_lists: frame folders, to count frames')
    p.add_argument('--casme2-sheet', help='megc2019_htnet: the CASME II coding sheet (2019 '
                   'revision) whose AUs and emotions are attached by id')
    p.add_argument('--samm-sheet', help='megc2019_htnet: the SAMM coding sheet')
    p.add_argument('--image-root', help="megc2019_htnet: folder the image paths are written "
                   "relative to (the config's data_prefix; default: the output's folder)")
    add_debug_argument(p)
    args = p.parse_args(argv)
    if args.strict and args.on_error == 'skip':
        p.error('--strict and --on-error skip contradict each other; choose one')
    return args


def convert(args, report: ConversionReport):
    kwargs = {}
    if args.filename_tmpl:
        kwargs['filename_tmpl'] = args.filename_tmpl
    if args.source == 'merclip_lists':
        if not args.dataset or len(args.inputs) != 1:
            sys.exit('merclip_lists needs one INPUT (the lists root) and --dataset')
        records = READERS['merclip_lists'](args.dataset, args.inputs[0], num_frames=args.num_frames,
                                           data_root=args.data_root, **kwargs)
        name = args.dataset
    elif args.source == 'megc2019_htnet':
        if len(args.inputs) != 1:
            sys.exit('megc2019_htnet takes one INPUT: the release folder (or its CSV)')
        records = READERS['megc2019_htnet'](
            args.inputs[0], casme2_sheet=args.casme2_sheet, samm_sheet=args.samm_sheet,
            image_root=args.image_root or osp.dirname(osp.abspath(args.out)),
            on_error=args.on_error, report=report)
        name = 'megc2019'
    elif args.source == 'smic':
        if len(args.inputs) != 1:
            sys.exit('smic takes one INPUT: the SMIC-HS release folder')
        records = READERS['smic'](args.inputs[0], on_error=args.on_error, report=report)
        name = 'smic'
    else:
        kwargs.update(sheet=args.sheet, on_error=args.on_error, report=report)
        if args.frame_dir_tmpl:
            kwargs['frame_dir_tmpl'] = args.frame_dir_tmpl
        if args.source == 'casme3':
            if args.wrong_list:
                kwargs['wrong_list'] = None if args.wrong_list.lower() == 'none' else \
                    args.wrong_list
            kwargs['drop_listed'] = args.drop_listed
        if args.source == 'dfme':
            records = READERS['dfme'](*args.inputs, splits=args.splits, **kwargs)
        else:
            if len(args.inputs) != 1:
                sys.exit(f'{args.source} takes one INPUT file')
            records = READERS[args.source](args.inputs[0], **kwargs)
        name = 'smic' if args.source == 'smic_e' else args.source
    meta = dict(dataset_name=name, source=[osp.basename(osp.normpath(p)) for p in args.inputs])
    if args.source == 'megc2019_htnet':
        meta.update(class_scheme='megc2019_3', datasets=['smic', 'casme2', 'samm'])
        # the released crops' framing, checked against the config's at load (framing_check.py)
        meta['prepared'] = dict(framing='megc2019_released')
    if report.sources:
        meta['conversion'] = dict(warnings=report.counts('warning'), notes=report.counts('note'))
    dump_annotations(records, args.out, meta)
    return records


def run(argv=None):
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    args = parse_args(argv)
    report = ConversionReport(strict=args.strict)
    records = convert(args, report)  # user errors (AnnotationError, ...): one line, by run_tool
    by_split = collections.defaultdict(collections.Counter)
    spellings = collections.defaultdict(collections.Counter)
    for r in records:
        emo = normalize_emotion(r['emotion'])
        by_split[r.get('split', 'all')][emo] += 1
        spellings[emo][r['emotion']] += 1
    print(f'wrote {len(records)} samples to {args.out}')
    for split, counts in by_split.items():
        print(f'[{split}] ' + ', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) +
              f' (total {sum(counts.values())})')
    for emo, c in sorted(spellings.items()):
        if len(c) > 1:
            print(f'  ({emo} is written ' + ' / '.join(f'{s!r} x{n}' for s, n in c.items()) + ')')
    if args.source == 'megc2019_htnet':
        from mer_clip.datasets.readers.megc2019_htnet import summarise
        print(summarise(records))
    if report.sources:
        paths = report.write(args.out)
        print('conversion report: ' + report.summary().replace('\n', '; '))
        print(f'  every entry: {paths[1]} (and {osp.basename(paths[0])})')


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
