"""Derive emotion -> AU-combination statistics from the MER-CLIP authors' lists.

The synthetic generator (:mod:`mer_clip.datasets.synthetic`) draws the AUs of each clip from the
table this script writes, so the synthetic emotions carry the AU statistics (and the ambiguity) of
the real datasets instead of a hand-made one-emotion-one-AU rule.

Input: ``<lists>/{samm,casme2,casme3,dfme}`` of the authors' repository (see its README), read with
:func:`mer_clip.datasets.readers.read_merclip_lists`: every sample of every emotion / AU list of a
dataset once, its AU sentence parsed into FACS codes with sides ("4+L14"); that reader documents the
parsing decisions ("X might be present" and "X or Y" keep the AUs named). Emotions are the class
folders normalised by :func:`mer_clip.datasets.class_schemes.normalize_emotion` ("happy" ->
"happiness"). Samples whose sentence names no AU are counted and skipped.

Output (``projects/mer_clip/datasets/synthetic_au_stats.json``): per canonical emotion the number of
samples, the marginal frequency of every AU, and the most frequent AU combinations with counts and
weights (renormalised over the kept combinations). Combinations keep every AU found, rendered or
not; the generator projects them onto the AUs it can draw.

Usage::

    python tools/data/au_emotion_stats.py \
        --lists ../shared/data/merclip_official_lists \
        --out projects/mer_clip/datasets/synthetic_au_stats.json
"""
import argparse
import collections
import json
import os
import os.path as osp
import sys
from typing import Dict

from mer_clip.au.codes import AUCode, format_au_list, sort_codes
from mer_clip.datasets.class_schemes import normalize_emotion
from mer_clip.datasets.readers import read_merclip_lists

DATASETS = ('samm', 'casme2', 'casme3', 'dfme')


def collect(lists_root: str):
    """Count AU combinations per canonical emotion over all four datasets' lists."""
    combos: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_dataset: Dict[str, Dict[str, int]] = {}
    notes: collections.Counter = collections.Counter()
    for dataset in DATASETS:
        # num_frames only fills the frame count of list lines without one; it is not used here
        records = read_merclip_lists(dataset, lists_root, num_frames=16)
        counts: collections.Counter = collections.Counter()
        for rec in records:
            codes = sort_codes(AUCode.from_dict(d) for d in rec['au_list'])
            if not codes:
                notes[f'{dataset}: sample without AUs skipped'] += 1
                continue
            emotion = normalize_emotion(rec['emotion'])
            combos[emotion][format_au_list(codes)] += 1
            counts[emotion] += 1
        per_dataset[dataset] = dict(sorted(counts.items()))
    return combos, per_dataset, notes


def build_table(combos, per_dataset, notes, top_k: int) -> dict:
    emotions = {}
    for emotion in sorted(combos):
        counter = combos[emotion]
        total = sum(counter.values())
        au_freq: collections.Counter = collections.Counter()
        for combo, n in counter.items():
            for code in combo.split('+'):
                au_freq[int(code.lstrip('LR'))] += n
        kept = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
        kept_total = sum(n for _, n in kept)
        emotions[emotion] = dict(
            num_samples=total,
            num_combinations=len(counter),
            kept_fraction=round(kept_total / total, 4),
            au_frequency={str(au): round(n / total, 4) for au, n in sorted(au_freq.items())},
            combinations=[dict(aus=c, count=n, weight=round(n / kept_total, 6)) for c, n in kept])
    return dict(
        format_version=1,
        description='Emotion -> AU combination statistics of the MER-CLIP authors\' lists '
        '(SAMM, CASME II, CAS(ME)^3, DFME pooled); written by tools/data/au_emotion_stats.py.',
        sources={d: f'{d}/ (all *emolabel_list / *AU_list / *AUlabel_list files)'
                 for d in DATASETS},
        samples_per_dataset=per_dataset,
        parse_notes=dict(sorted(notes.items())),
        top_k=top_k,
        emotions=emotions)


def main(argv=None):
    here = osp.dirname(osp.abspath(__file__))
    repo = osp.dirname(osp.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lists', default=osp.join(osp.dirname(repo), 'shared', 'data',
                                                    'merclip_official_lists'),
                        help='folder of the authors\' lists (with samm/, casme2/, casme3/, dfme/)')
    parser.add_argument('--out', default=osp.join(repo, 'projects', 'mer_clip', 'datasets',
                                                  'synthetic_au_stats.json'))
    parser.add_argument('--top-k', type=int, default=16,
                        help='most frequent AU combinations kept per emotion')
    args = parser.parse_args(argv)
    if not osp.isdir(args.lists):
        sys.exit(f'--lists {args.lists!r} is not a folder; point it at merclip_official_lists/')
    table = build_table(*collect(args.lists), top_k=args.top_k)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(table, f, indent=1)
        f.write('\n')
    print(f'wrote {args.out}')
    for emotion, info in table['emotions'].items():
        top = ', '.join(f"{c['aus']} ({c['count']})" for c in info['combinations'][:4])
        print(f"  {emotion:<11} n={info['num_samples']:<5} top: {top}")
    print(f"  parse notes: {table['parse_notes']}")


if __name__ == '__main__':
    main()
