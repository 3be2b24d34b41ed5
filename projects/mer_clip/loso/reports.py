"""Pooled LOSO / fixed-split reports: the fold predictions read and checked for pooling, and the
files of an experiment: predictions.csv, summary.json (a :class:`~.summary.LOSOSummary`),
summary.md and the figures.

The runner joins each prediction with its record's ``dataset`` by sample id; the summary then has
per-dataset blocks (:mod:`.summary`), which summary.md shows beside the pooled one.
"""
import csv
import hashlib
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from ..evaluation import read_predictions_csv
from ..utils.atomic_write import atomic_open, atomic_write_json, atomic_write_text, errors_name
from .plots import plot_confusion_matrix, plot_per_fold
from .summary import SUBJECT_MEAN_NOTE, LOSOSummary


def config_hash(text: str) -> str:
    """sha256 of the dumped config text."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def load_fold_predictions(path: str, fold: str, num_classes: int) -> List[Dict]:
    """Rows of one fold's ``predictions.csv`` tagged with the fold name; checks the class count
    and that every score is finite (NaN scores are a diverged model, not predictions of class 0,
    e.g. in a fold trained before training stopped on a NaN loss)."""
    rows = read_predictions_csv(path)
    if not rows:
        raise ValueError(f'{path}: no predictions (empty test fold?); delete the file to re-test')
    for r in rows:
        if len(r['scores']) != num_classes:
            raise ValueError(f'{path}: sample {r["sample_id"]} has {len(r["scores"])} scores, the '
                             f'class scheme has {num_classes}; the fold was run with another '
                             'config - delete it to re-run')
        r['fold'] = fold
    bad = [r for r in rows if not all(math.isfinite(s) for s in r['scores'])]
    if bad:
        scores = ', '.join(f'{s:g}' for s in bad[0]['scores'])
        raise ValueError(
            f'{path}: sample {bad[0]["sample_id"]} has scores that are not finite ({scores}; '
            f'{len(bad)} of {len(rows)} samples): the model of fold {fold} diverged, these are '
            f'no predictions. Delete the fold folder {osp.dirname(path) or "."} and run '
            'tools/loso.py again with a fixed config (a lower optim_wrapper.optimizer.lr, or '
            'without AMP)')
    return rows


class PoolingError(ValueError):
    """Fold predictions that cannot be pooled: a subject in two folds, a sample id twice."""


def check_pooling(rows_by_fold: Dict[str, Sequence[Dict]],
                  fold_subjects: Optional[Dict[str, Optional[str]]] = None,
                  files: Optional[Dict[str, str]] = None) -> None:
    """Refuse to pool predictions that would count a sample or a subject twice.

    ``rows_by_fold``: the rows of each fold (or test split) to be pooled together.
    ``fold_subjects``: a LOSO fold's held-out subject; its rows must hold that subject only, and
    every subject must be pooled in exactly one fold. Sample ids must be unique across all rows.
    ``files``: where each fold's rows came from, for the message.
    """
    files = files or {}
    where = lambda fold: files.get(fold, f'fold {fold}')  # noqa: E731
    seen_ids: Dict[str, str] = {}
    subject_fold: Dict[str, str] = {}
    for fold, rows in rows_by_fold.items():
        expected = (fold_subjects or {}).get(fold)
        for r in rows:
            sid, subject = str(r['sample_id']), str(r['subject'])
            if expected is not None and subject != str(expected):
                raise PoolingError(
                    f'{where(fold)}: sample {sid!r} belongs to subject {subject!r}, but this fold '
                    f'holds out subject {expected!r}; the fold folder holds another fold\'s '
                    'predictions. Delete it and run tools/loso.py again.')
            if sid in seen_ids:
                raise PoolingError(
                    f'sample id {sid!r} appears in {where(seen_ids[sid])} and in {where(fold)}: '
                    'pooling would count it twice. Sample ids must be unique across folds; '
                    'delete the wrong fold folder (or fix the annotation file) and run again.')
            seen_ids[sid] = fold
            if fold_subjects is not None:
                first = subject_fold.setdefault(subject, fold)
                if first != fold:
                    raise PoolingError(
                        f'subject {subject!r} is pooled twice: in {where(first)} and in '
                        f'{where(fold)}; every subject must be tested in exactly one fold.')


def write_pooled_csv(path: str, rows: Sequence[Dict], classes: Sequence[str]) -> None:
    """Every sample of every fold: fold, subject, sample_id, gt, pred (index and name), scores
    (and, for joint annotations, the sample's ``dataset`` as the last column)."""
    with_ds = any(r.get('dataset') for r in rows)
    with atomic_open(path, newline='') as f:
        w = csv.writer(f)
        w.writerow(['fold', 'subject', 'sample_id', 'gt', 'pred', 'gt_class', 'pred_class'] +
                   [f'score_{c}' for c in classes] + (['dataset'] if with_ds else []))
        for r in rows:
            w.writerow([r['fold'], r['subject'], r['sample_id'], r['gt'], r['pred'],
                        classes[r['gt']], classes[r['pred']]] + [f'{s:.6f}' for s in r['scores']]
                       + ([r.get('dataset') or ''] if with_ds else []))


def _fmt(x) -> str:
    return '-' if x is None else f'{x:.4f}'


def summary_markdown(s: LOSOSummary) -> str:
    """Markdown tables: headline, per class, confusion matrix, per fold."""
    loso = s.protocol == 'loso'
    lines = [f'# {s.experiment or "MER experiment"}', '']
    if loso and (s.fold_key or 'subject') != 'subject':
        lines.append(f'- protocol: {s.protocol_title or s.fold_key} ({s.num_folds} folds by '
                     f'`{s.fold_key}`, predictions pooled)')
    else:
        lines.append(f'- protocol: {s.protocol}'
                     + (f' ({s.num_folds} LOSO folds, predictions pooled)' if loso
                        else ' (train once, test splits reported separately)'))
    for key in ('config', 'config_hash', 'checkpoint_rule'):
        if getattr(s, key) is not None:
            lines.append(f'- {key}: `{getattr(s, key)}`')
    if s.cfg_options:
        lines.append('- cfg_options: ' + ' '.join(f'`{o}`' for o in s.cfg_options))
    if s.fold_cfg_options:
        variants = {}
        for fold, opts in s.fold_cfg_options.items():
            variants.setdefault(' '.join(opts), []).append(fold)
        for opts, folds in variants.items():
            lines.append(f'- per-fold options for {len(folds)} fold(s): `{opts}`')
    if s.seeds is not None:
        lines.append(f"- seed: {s.seeds.get('base')} (per fold: {s.seeds.get('rule', 'same')})")
    if s.versions:
        lines.append('- versions: ' + ', '.join(f'{k} {v}' for k, v in s.versions.items()))
    lines.append('')
    lines += ['| | UF1 | UAR | ACC | samples |', '| --- | --- | --- | --- | --- |']
    groups = s.groups()
    for name, m in groups.items():
        label = name if loso and name != 'pooled' else f'**{name}**'  # per-dataset rows plain
        lines.append(f"| {label} | {_fmt(m['UF1'])} | {_fmt(m['UAR'])} | {_fmt(m['ACC'])} | "
                     f"{m['num_samples']} |")
    if loso:
        sm = s.subject_mean
        lines.append(f"| subject mean* | {_fmt(sm['UF1'])} | {_fmt(sm['UAR'])} | "
                     f"{_fmt(sm['ACC'])} | |")
        lines += ['', f'\\* {SUBJECT_MEAN_NOTE}.']
    for name, m in groups.items():
        lines += ['', f'## Per class ({name})', '', '| class | F1 | recall | support |',
                  '| --- | --- | --- | --- |']
        for c in s.classes:
            pc = m['per_class'][c]
            lines.append(f"| {c} | {_fmt(pc['f1'])} | {_fmt(pc['recall'])} | {pc['support']} |")
        lines += ['', f'Confusion matrix ({name}; rows: ground truth, columns: prediction)', '',
                  '| gt \\ pred | ' + ' | '.join(s.classes) + ' |',
                  '| --- ' * (len(s.classes) + 1) + '|']
        for c, row in zip(s.classes, m['confusion_matrix']):
            lines.append(f'| {c} | ' + ' | '.join(str(v) for v in row) + ' |')
    lines += ['', '## Per fold' if loso else '## Per test split', '',
              '| fold | samples | UF1 | UAR | ACC | classes present |',
              '| --- | --- | --- | --- | --- | --- |']
    for f in s.per_fold:
        lines.append(f"| {f['fold']} | {f['num_samples']} | {_fmt(f['UF1'])} | {_fmt(f['UAR'])} | "
                     f"{_fmt(f['ACC'])} | {', '.join(f.get('classes_present', []))} |")
    return '\n'.join(lines) + '\n'


def write_reports(work_dir: str, summary: LOSOSummary, rows: Sequence[Dict],
                  plots: bool = True) -> Dict[str, str]:
    """Write predictions.csv, summary.md, the figures and, last and atomically, summary.json
    (whose ``report_files`` lists them all, set on ``summary``); returns those paths.

    summary.json is complete only when everything else is (a tool may take it as "done")."""
    os.makedirs(work_dir, exist_ok=True)
    classes = summary.classes
    paths = dict(predictions=osp.join(work_dir, 'predictions.csv'),
                 summary_json=osp.join(work_dir, 'summary.json'),
                 summary_md=osp.join(work_dir, 'summary.md'))
    write_pooled_csv(paths['predictions'], rows, classes)
    atomic_write_text(paths['summary_md'], summary_markdown(summary))
    if plots:
        if summary.protocol == 'loso':
            figures = [('confusion_matrix', 'pooled LOSO', summary.pooled)]
        else:
            figures = [(f'confusion_matrix_{name}', name, m) for name, m in summary.splits.items()]
        for key, name, m in figures:
            png = osp.join(work_dir, f'{key}.png')
            with errors_name(png):  # matplotlib's errors do not name the file
                paths[key] = plot_confusion_matrix(m['confusion_matrix'], classes, png,
                                                   title=_cm_title(name, m))
        png = osp.join(work_dir, 'per_fold.png')
        with errors_name(png):
            paths['per_fold'] = plot_per_fold(summary, png)
    summary.report_files = paths
    atomic_write_json(paths['summary_json'], summary.to_json())
    return paths


def _cm_title(name: str, m: Dict) -> str:
    return (f"{name}: UF1 {m['UF1']:.4f}  UAR {m['UAR']:.4f}  ACC {m['ACC']:.4f}  "
            f"(n={m['num_samples']})")
