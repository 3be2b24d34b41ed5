"""Build the MEGC2019 composite annotation (SMIC-HS + CASME II + SAMM, 3 classes, 68 subjects).

    python tools/data/build_megc2019.py combined_3_class_gt.csv data/megc2019/annotations.json \
        --smic data/smic/annotations.json --casme2 data/casme2/annotations.json \
        --samm data/samm/annotations.json

Each ``--<dataset>`` is that dataset's canonical annotation (``prepare_dataset.py`` output, or
``convert_annotations.py`` for annotations only); its frame folders are the ``frames/`` folder
beside it (the prepare_dataset layout) or ``--<dataset>-frames DIR``. The composite's ``frame_dir``
are rewritten relative to ``--frames-root`` (default: the output's folder), which is the
``data_prefix`` of ``configs/_base_/datasets/megc2019_composite.py``. Subjects and sample ids are
namespaced by dataset (``casme2_sub01``); the findings (labels that differ from the official list,
source samples the list leaves out) are printed and written beside the output
(``OUT.conversion.json`` / ``.md``).
"""
import argparse
import collections
import os.path as osp
import sys

import mer_clip  # noqa: F401
from mer_clip.datasets.annotation import AnnotationError, dump_annotations, load_annotations
from mer_clip.datasets.readers import ConversionReport
from mer_clip.datasets.readers.megc2019_composite import MEGC2019_DATASETS, build_megc2019_composite


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('official_list', help='combined_3_class_gt.csv (data,subject,clip,label)')
    p.add_argument('out', help='composite annotation JSON to write')
    for ds in MEGC2019_DATASETS:
        p.add_argument(f'--{ds}', required=True, metavar='JSON', help=f'{ds} annotation')
        p.add_argument(f'--{ds}-frames', metavar='DIR',
                       help=f'folder the {ds} frame_dir are relative to (default: frames/ beside '
                       'the annotation, when it exists; else left as they are)')
    p.add_argument('--frames-root', help='folder the composite frame_dir are relative to (the '
                   "config's data_prefix; default: the output's folder)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_root = args.frames_root or osp.dirname(osp.abspath(args.out))
    sources, roots = {}, {}
    report = ConversionReport()
    try:
        for ds in MEGC2019_DATASETS:
            ann = getattr(args, ds)
            sources[ds] = load_annotations(ann)[1]
            report.sources.append(ann)
            default = osp.join(osp.dirname(osp.abspath(ann)), 'frames')
            roots[ds] = getattr(args, f'{ds}_frames') or (default if osp.isdir(default) else None)
            if roots[ds] is None:
                print(f'note: {ds}: no frames/ beside {ann} and no --{ds}-frames: its frame_dir '
                      'are kept as they are')
        records = build_megc2019_composite(sources, args.official_list, frame_roots=roots,
                                           out_root=out_root, report=report)
        meta = dict(dataset_name='megc2019', class_scheme='megc2019_3',
                    datasets=list(MEGC2019_DATASETS), source=[osp.basename(args.official_list)]
                    + [osp.basename(getattr(args, ds)) for ds in MEGC2019_DATASETS],
                    conversion=dict(warnings=report.counts('warning'),
                                    notes=report.counts('note')))
        dump_annotations(records, args.out, meta)
    except (AnnotationError, ValueError) as e:
        sys.exit(f'error: {e}')
    from mer_clip.datasets.class_schemes import get_class_scheme
    scheme = get_class_scheme('megc2019_3')
    per = collections.Counter(r['dataset'] for r in records)
    cls = collections.Counter(scheme.class_of(r['emotion'], r['dataset']) for r in records)
    print(f'wrote {len(records)} samples of {len({r["subject"] for r in records})} subjects to '
          f'{args.out}: ' + ', '.join(f'{ds} {per[ds]}' for ds in MEGC2019_DATASETS) + '; '
          + ', '.join(f'{c} {cls[c]}' for c in scheme.classes))
    paths = report.write(args.out)
    print('report: ' + report.summary().replace('\n', '; ') + f' ({paths[1]})')


if __name__ == '__main__':
    main()
