"""Class counts per dataset/scheme from the MER-CLIP authors' lists, beside the paper's Table III.

    python tools/data/class_counts.py [--lists ../shared/data/merclip_official_lists]

For every task it prints (markdown) three columns of counts: the paper (Table III), the authors'
list for that task (its lines, grouped by our class scheme), and our class scheme applied to every
sample of the dataset's lists (what ``MicroExpressionDataset(class_scheme=...)`` keeps from a JSON
converted with ``convert_annotations.py merclip_lists``). docs/class_counts.md explains the
differences.
"""
import argparse
import collections
import os.path as osp
import sys

import mer_clip  # noqa: F401
from mer_clip.datasets.class_schemes import get_class_scheme
from mer_clip.datasets.readers import read_merclip_lists, scheme_counts
from mer_clip.datasets.readers.merclip_lists import read_list_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_LISTS = osp.join(osp.dirname(REPO), 'shared', 'data', 'merclip_official_lists')

# Paper, Table III (class -> count; DFME: totals per split only).
PAPER = {
    'samm_5': dict(anger=57, contempt=12, happiness=26, others=26, surprise=15),
    'samm_3': dict(negative=92, positive=26, surprise=15),
    'casme2_5': dict(disgust=63, happiness=32, others=99, repression=27, surprise=28),
    'casme2_3': dict(negative=96, positive=32, surprise=28),
    'casme3_7': dict(anger=64, disgust=250, fear=86, happiness=55, others=161, sadness=57,
                     surprise=187),
    'casme3_4': dict(negative=457, positive=55, surprise=187, others=161),
    'casme3_3': {'total': 699},
    'dfme_7/train': {'total': 1856}, 'dfme_7/test_a': {'total': 474},
    'dfme_7/test_b': {'total': 299},
}
# task -> (dataset, the authors' list of that task, split)
TASKS = {
    'samm_5': ('samm', 'samm_5class_emolabel_list.txt', None),
    'samm_3': ('samm', 'samm_3class_emolabel_list.txt', None),
    'casme2_5': ('casme2', 'casme2_5class_emolabel_list.txt', None),
    'casme2_3': ('casme2', 'casme2_3class_emolabel_list.txt', None),
    'casme3_7': ('casme3', 'casme3_7class_emolabel_list.txt', None),
    'casme3_4': ('casme3', 'casme3_4class_emolabel_list.txt', None),
    'casme3_3': ('casme3', 'casme3_3class_emolabel_list.txt', None),
    'dfme_7/train': ('dfme', 'train_dfme_ccac_7class_emolabel_list.txt', 'train'),
    'dfme_7/test_a': ('dfme', 'testA_dfme_ccac_7class_emolabel_list.txt', 'test_a'),
    'dfme_7/test_b': ('dfme', 'testB_dfme_ccac_7class_emolabel_list.txt', 'test_b'),
}


def compute(lists_root: str):
    """``{task: dict(classes, paper, task_list, all_lists, label_mismatches)}``."""
    records = {ds: read_merclip_lists(ds, lists_root, num_frames=16)  # frame counts unused here
               for ds in ('samm', 'casme2', 'casme3', 'dfme')}
    out = {}
    for task, (ds, list_name, split) in TASKS.items():
        scheme = get_class_scheme(task.split('/')[0])
        lines = read_list_file(osp.join(lists_root, ds, list_name))
        in_list = collections.Counter(scheme.class_of(cls) for _, cls, _, _, _ in lines)
        recs = [r for r in records[ds] if split is None or r.get('split') == split]
        out[task] = dict(
            classes=scheme.classes, paper=PAPER[task],
            task_list={c: in_list.get(c, 0) for c in scheme.classes},
            task_list_out_of_scheme=in_list.get(None, 0),
            all_lists=scheme_counts(recs, scheme),
            # the authors' label index of each line against ours (same class order)
            label_mismatches=sum(scheme.label_of(cls) != label for _, cls, _, _, label in lines))
    return out


def markdown(counts) -> str:
    rows = ['| task | class | paper (Table III) | authors\' task list | our scheme on all '
            'their lists |', '| --- | --- | ---: | ---: | ---: |']
    for task, c in counts.items():
        for cls in c['classes']:
            rows.append(f"| {task} | {cls} | {c['paper'].get(cls, '')} | {c['task_list'][cls]} | "
                        f"{c['all_lists'][cls]} |")
        total_p = c['paper'].get('total', sum(c['paper'].values()))
        rows.append(f"| **{task}** | **total** | **{total_p}** | "
                    f"**{sum(c['task_list'].values())}** | "
                    f"**{sum(v for k, v in c['all_lists'].items() if k is not None)}** |")
    return '\n'.join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--lists', default=DEFAULT_LISTS)
    args = p.parse_args(argv)
    if not osp.isdir(args.lists):
        sys.exit(f'{args.lists}: no such folder (the authors\' lists)')
    counts = compute(args.lists)
    print(markdown(counts))
    bad = {t: c['label_mismatches'] for t, c in counts.items() if c['label_mismatches']}
    print(f'\nlabel index disagreements with our schemes: {bad or "none"}')


if __name__ == '__main__':
    main()
