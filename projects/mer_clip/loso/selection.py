"""Choose a training schedule for a LOSO comparison without looking at the test subjects.

Every subject of a LOSO experiment is the test subject of one fold, so a schedule tuned on "a
validation split" of the same subjects has seen some test subjects. Cross-fitting avoids that:

1. The subjects are dealt into ``k`` groups G_0 .. G_{k-1}, stratified by source dataset
   (:func:`subject_groups`; each dataset's subjects shuffled with ``seed`` and dealt in turn).
2. For each group j and each candidate setting (a list of ``--cfg-options``), every config of the
   comparison trains on the subjects outside G_j and G_{j+1} and is scored (pooled UF1, last
   epoch) on G_{j+1} (:func:`group_annotation` writes that split as a fixed-split annotation:
   ``split`` = ``train`` / ``test``; G_j is left out entirely).
3. The setting for the LOSO folds whose test subject is in G_j is the one with the best UF1
   averaged over the configs (one schedule for all configs of the comparison: identical schedules
   within it) on G_{j+1} (:func:`choose`). No subject of G_j, so no test subject of those folds,
   took part in choosing it, neither as training nor as validation data.

When all groups choose the same setting, the comparison has one schedule, chosen without any
fold's test subject. ``tools/select_schedule.py`` runs it (resumable: a finished run is skipped)
and writes ``selection.json`` / ``selection.md``.
"""
import json
import os
import os.path as osp
import random
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from ..datasets.annotation import dump_annotations


def subject_groups(records: Sequence[Dict], k: int = 5, seed: int = 0) -> List[List[str]]:
    """Subjects in ``k`` groups, stratified by the records' ``dataset`` (module docstring)."""
    by_ds = defaultdict(set)
    for r in records:
        by_ds[r.get('dataset') or ''].add(str(r['subject']))
    if k < 3:  # G_j left out, G_j+1 validation, the rest training
        raise ValueError(f'{k} subject groups: the selection needs at least 3 (one left out, one '
                         'for validation, the rest for training)')
    if sum(len(s) for s in by_ds.values()) < 2 * k:
        raise ValueError(f'{k} groups need at least {2 * k} subjects')
    groups: List[List[str]] = [[] for _ in range(k)]
    slot = 0
    rng = random.Random(seed)
    for ds in sorted(by_ds):
        subjects = sorted(by_ds[ds])
        rng.shuffle(subjects)
        for s in subjects:  # dealt in turn, continuing across datasets: sizes differ by <= 1
            groups[slot % k].append(s)
            slot += 1
    return [sorted(g) for g in groups]


def group_annotation(records: Sequence[Dict], groups: List[List[str]], j: int, path: str,
                     metainfo: Optional[Dict] = None) -> Dict[str, int]:
    """Write the selection split of group ``j``: G_j left out, G_{j+1} ``test``, the rest
    ``train``. Returns the number of samples per split."""
    k = len(groups)
    out_subjects, val = set(groups[j]), set(groups[(j + 1) % k])
    recs = []
    for r in records:
        if r['subject'] in out_subjects:
            continue
        recs.append(dict(r, split='test' if r['subject'] in val else 'train'))
    meta = dict(metainfo or {})
    meta.update(selection=dict(group=j, left_out=sorted(out_subjects), validation=sorted(val)))
    dump_annotations(recs, path, meta)
    counts = defaultdict(int)
    for r in recs:
        counts[r['split']] += 1
    return dict(counts)


def setting_names(settings: Sequence[Sequence[str]]) -> List[str]:
    """Short, folder-safe names of candidate settings from the options that differ between
    them: ``['lr=0.001,max_epochs=20', ...]`` (the last key component and the value)."""
    keys = [dict(o.partition('=')[::2] for o in opts) for opts in settings]
    varying = [k for k in dict.fromkeys(k for d in keys for k in d)
               if len({d.get(k) for d in keys}) > 1]
    names = [','.join(f'{k.split(".")[-1]}={d.get(k)}' for k in varying).replace('/', '_')
             or 'default' for d in keys]
    return names


def choose(scores: Dict[str, Dict[str, Dict[int, float]]], k: int) -> Dict[int, str]:
    """``scores[setting][config][j]`` (UF1 on G_{j+1}) -> the setting chosen for the test
    folds of each group j: best mean over configs (ties: the earlier setting in the grid)."""
    chosen = {}
    for j in range(k):
        best, best_score = None, None
        for setting, per_config in scores.items():
            vals = [per_config[c][j] for c in per_config]
            score = sum(vals) / len(vals)
            if best_score is None or score > best_score + 1e-12:
                best, best_score = setting, score
        chosen[j] = best
    return chosen


def summary_markdown(result: Dict) -> str:
    """The selection table: UF1 per setting and config, per validation group, and the choices."""
    k = result['k']
    lines = ['# Schedule selection on inner-validation subjects', '',
             f"Annotation `{result['ann_file']}`, {k} subject groups (seed {result['seed']}), "
             f"training seed {result['train_seed']}. For the LOSO folds whose test subject is in "
             'G_j, the configs train on the subjects outside G_j and G_j+1 and are scored on '
             'G_j+1 (pooled UF1, last epoch); the setting with the best mean over the configs '
             'is chosen. No test subject of those folds takes part.', '']
    configs = result['configs']
    head = '| setting | ' + ' | '.join(f'G{j}: val G{(j + 1) % k}' for j in range(k)) + \
        ' | mean |'
    for title, rows in [('mean over configs', None)] + [(c, c) for c in configs]:
        lines += [f'**{title}**', '', head, '| --- |' + ' ---: |' * (k + 1)]
        for setting, per_config in result['scores'].items():
            vals = []
            for j in range(k):
                if rows is None:
                    v = sum(per_config[c][str(j)] for c in configs) / len(configs)
                else:
                    v = per_config[rows][str(j)]
                vals.append(v)
            lines.append(f'| {setting} | ' + ' | '.join(f'{v:.3f}' for v in vals)
                         + f' | {sum(vals) / k:.3f} |')
        lines.append('')
    lines.append('Chosen: ' + ', '.join(f"G{j} -> `{result['chosen'][str(j)]}`"
                                        for j in range(k)))
    lines.append('')
    lines.append('Groups: ' + '; '.join(f'G{j}: ' + ' '.join(g)
                                        for j, g in enumerate(result['groups'])))
    return '\n'.join(lines) + '\n'


def write_result(result: Dict, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'selection.json'), 'w') as f:
        json.dump(result, f, indent=2)
    with open(osp.join(out_dir, 'selection.md'), 'w') as f:
        f.write(summary_markdown(result))
