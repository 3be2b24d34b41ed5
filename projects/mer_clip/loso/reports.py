"""Pooled LOSO / fixed-split reports: predictions.csv, summary.json, summary.md.

MER reports UF1 / UAR / ACC on the predictions of all LOSO folds *pooled* (MEGC convention). A mean
of per-fold scores is a different (and, with folds holding one or two classes, much noisier) number;
it is written too, but labelled ``subject_mean`` and never used as the headline.

When the predictions come from several source datasets (a joint annotation such as the MEGC2019
composite, whose records carry ``dataset``), the report adds ``per_dataset``: the same pooled
metrics on each dataset's predictions (the MEGC2019 table's SMIC / CASME II / SAMM columns beside
the composite one). The runner joins each prediction with its record's ``dataset`` by sample id.
"""
import csv
import datetime
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..evaluation import mer_metrics, read_predictions_csv
from .plots import plot_confusion_matrix, plot_per_fold

SUBJECT_MEAN_NOTE = ('mean over folds of per-fold scores, for reference only; the MEGC / paper '
                     'metric is the pooled one')


def config_hash(text: str) -> str:
    """sha256 of the dumped config text."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def versions() -> Dict[str, str]:
    """Versions of the stack that produced a run."""
    out = {}
    for name in ('torch', 'mmengine', 'mmaction', 'mmcv', 'mer_clip', 'numpy'):
        try:
            mod = __import__(name)
            out[name] = str(getattr(mod, '__version__', 'unknown'))
        except Exception:  # pragma: no cover - missing optional package
            out[name] = 'not installed'
    return out


def load_fold_predictions(path: str, fold: str, num_classes: int) -> List[Dict]:
    """Rows of one fold's ``predictions.csv`` tagged with the fold name; checks the class count."""
    rows = read_predictions_csv(path)
    if not rows:
        raise ValueError(f'{path}: no predictions (empty test fold?); delete the file to re-test')
    for r in rows:
        if len(r['scores']) != num_classes:
            raise ValueError(f'{path}: sample {r["sample_id"]} has {len(r["scores"])} scores, the '
                             f'class scheme has {num_classes}; the fold was run with another '
                             'config - delete it to re-run')
        r['fold'] = fold
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
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['fold', 'subject', 'sample_id', 'gt', 'pred', 'gt_class', 'pred_class'] +
                   [f'score_{c}' for c in classes] + (['dataset'] if with_ds else []))
        for r in rows:
            w.writerow([r['fold'], r['subject'], r['sample_id'], r['gt'], r['pred'],
                        classes[r['gt']], classes[r['pred']]] + [f'{s:.6f}' for s in r['scores']]
                       + ([r.get('dataset') or ''] if with_ds else []))


def _nan_to_none(x):
    if isinstance(x, float) and np.isnan(x):
        return None
    return x


def metrics_block(rows: Sequence[Dict], classes: Sequence[str]) -> Dict:
    """UF1 / UAR / ACC, per-class F1 / recall / support and the confusion matrix of ``rows``."""
    m = mer_metrics([r['gt'] for r in rows], [r['pred'] for r in rows], len(classes))
    support = np.bincount([r['gt'] for r in rows], minlength=len(classes))
    return dict(
        UF1=m['uf1'], UAR=m['uar'], ACC=m['acc'], num_samples=m['num_samples'],
        per_class={c: dict(f1=_nan_to_none(f), recall=_nan_to_none(rc), support=int(n))
                   for c, f, rc, n in zip(classes, m['per_class_f1'], m['per_class_recall'],
                                          support)},
        confusion_matrix=m['confusion_matrix'])


def per_fold_table(rows: Sequence[Dict], classes: Sequence[str],
                   fold_info: Optional[Dict[str, Dict]] = None) -> List[Dict]:
    """One entry per fold (in order of first appearance): subject(s), n, UF1, UAR, ACC (+ info)."""
    order, by_fold = [], {}
    for r in rows:
        if r['fold'] not in by_fold:
            order.append(r['fold'])
            by_fold[r['fold']] = []
        by_fold[r['fold']].append(r)
    table = []
    for fold in order:
        fr = by_fold[fold]
        m = mer_metrics([r['gt'] for r in fr], [r['pred'] for r in fr], len(classes))
        entry = dict(fold=fold, subjects=sorted({r['subject'] for r in fr}), num_samples=len(fr),
                     UF1=m['uf1'], UAR=m['uar'], ACC=m['acc'],
                     classes_present=sorted({classes[r['gt']] for r in fr}))
        entry.update((fold_info or {}).get(fold, {}))
        table.append(entry)
    return table


def per_dataset_blocks(rows: Sequence[Dict], classes: Sequence[str]) -> Dict[str, Dict]:
    """``{dataset: metrics_block}`` of rows carrying ``dataset``, when they span two or more
    datasets (empty otherwise). Every row must then carry one."""
    names = [r.get('dataset') for r in rows]
    if len({n for n in names if n}) < 2:
        return {}
    missing = [r['sample_id'] for r in rows if not r.get('dataset')]
    if missing:
        raise ValueError(f'{len(missing)} prediction(s) have no dataset while others do (e.g. '
                         f'{missing[:3]}); the annotation must give every record a dataset')
    order = list(dict.fromkeys(names))
    return {ds: metrics_block([r for r in rows if r['dataset'] == ds], classes) for ds in order}


def build_summary(protocol: str, rows_by_group: Dict[str, List[Dict]], classes: Sequence[str],
                  fold_info: Optional[Dict[str, Dict]] = None, **extra) -> Dict:
    """The whole report as a dict (written as summary.json).

    ``rows_by_group``: for LOSO one group ``{'pooled': all rows}``; for fixed splits one group per
    test split (``{'test_a': rows, 'test_b': rows}``), each reported on its own. Rows with a
    ``dataset`` add ``per_dataset`` (:func:`per_dataset_blocks`). ``extra`` keys with value None are
    left out.
    """
    summary = dict(protocol=protocol, classes=list(classes),
                   created=datetime.datetime.now().isoformat(timespec='seconds'))
    if protocol == 'loso':
        rows = rows_by_group['pooled']
        summary['pooled'] = metrics_block(rows, classes)
        per_ds = per_dataset_blocks(rows, classes)
        if per_ds:
            summary['per_dataset'] = per_ds
        folds = per_fold_table(rows, classes, fold_info)
        summary['per_fold'] = folds
        summary['subject_mean'] = dict(
            note=SUBJECT_MEAN_NOTE,
            **{k: float(np.mean([f[k] for f in folds])) for k in ('UF1', 'UAR', 'ACC')})
        summary['num_folds'] = len(folds)
    else:
        summary['splits'] = {name: metrics_block(rows, classes)
                             for name, rows in rows_by_group.items()}
        summary['per_fold'] = [
            dict(fold=name, subjects=sorted({r['subject'] for r in rows}), num_samples=len(rows),
                 UF1=summary['splits'][name]['UF1'], UAR=summary['splits'][name]['UAR'],
                 ACC=summary['splits'][name]['ACC'], **(fold_info or {}).get(name, {}))
            for name, rows in rows_by_group.items()]
    summary.update((k, v) for k, v in extra.items() if v is not None)
    summary.setdefault('versions', versions())
    return summary


def headline(summary: Dict) -> Dict[str, Dict[str, float]]:
    """``{group: {UF1, UAR, ACC}}``: 'pooled' for LOSO (then one entry per source dataset of a
    joint annotation), one entry per test split otherwise."""
    if summary['protocol'] == 'loso':
        groups = {'pooled': summary['pooled']}
        groups.update((f'dataset {k}', v) for k, v in summary.get('per_dataset', {}).items())
    else:
        groups = summary['splits']
    return {g: {k: m[k] for k in ('UF1', 'UAR', 'ACC')} for g, m in groups.items()}


def _fmt(x) -> str:
    return '-' if x is None else f'{x:.4f}'


def summary_markdown(summary: Dict) -> str:
    """Markdown tables: headline, per class, confusion matrix, per fold."""
    classes = summary['classes']
    lines = [f"# {summary.get('experiment', 'MER experiment')}", '']
    if summary['protocol'] == 'loso' and summary.get('fold_key', 'subject') != 'subject':
        lines.append(f"- protocol: {summary.get('protocol_title', summary['fold_key'])} "
                     f"({summary.get('num_folds')} folds by `{summary['fold_key']}`, predictions "
                     'pooled)')
    else:
        lines.append(f"- protocol: {summary['protocol']}"
                     + (f" ({summary.get('num_folds')} LOSO folds, predictions pooled)"
                        if summary['protocol'] == 'loso' else ' (train once, test splits '
                        'reported separately)'))
    for key in ('config', 'config_hash', 'checkpoint_rule'):
        if key in summary:
            lines.append(f'- {key}: `{summary[key]}`')
    if summary.get('cfg_options'):
        lines.append('- cfg_options: ' + ' '.join(f'`{o}`' for o in summary['cfg_options']))
    if summary.get('fold_cfg_options'):
        variants = {}
        for fold, opts in summary['fold_cfg_options'].items():
            variants.setdefault(' '.join(opts), []).append(fold)
        for opts, folds in variants.items():
            lines.append(f'- per-fold options for {len(folds)} fold(s): `{opts}`')
    if 'seeds' in summary:
        lines.append(f"- seed: {summary['seeds'].get('base')} (per fold: "
                     f"{summary['seeds'].get('rule', 'same')})")
    if summary.get('versions'):
        lines.append('- versions: ' + ', '.join(f'{k} {v}' for k, v in summary['versions'].items()))
    lines.append('')
    lines += ['| | UF1 | UAR | ACC | samples |', '| --- | --- | --- | --- | --- |']
    groups = ({'pooled': summary['pooled']} if summary['protocol'] == 'loso'
              else summary['splits'])
    for name, m in groups.items():
        lines.append(f"| **{name}** | {_fmt(m['UF1'])} | {_fmt(m['UAR'])} | {_fmt(m['ACC'])} | "
                     f"{m['num_samples']} |")
    for name, m in summary.get('per_dataset', {}).items():
        lines.append(f"| dataset {name} | {_fmt(m['UF1'])} | {_fmt(m['UAR'])} | "
                     f"{_fmt(m['ACC'])} | {m['num_samples']} |")
    if summary['protocol'] == 'loso':
        sm = summary['subject_mean']
        lines.append(f"| subject mean* | {_fmt(sm['UF1'])} | {_fmt(sm['UAR'])} | "
                     f"{_fmt(sm['ACC'])} | |")
        lines += ['', f'\\* {SUBJECT_MEAN_NOTE}.']
    for name, m in list(groups.items()) + [(f'dataset {k}', v) for k, v in
                                           summary.get('per_dataset', {}).items()]:
        lines += ['', f'## Per class ({name})', '', '| class | F1 | recall | support |',
                  '| --- | --- | --- | --- |']
        for c in classes:
            pc = m['per_class'][c]
            lines.append(f"| {c} | {_fmt(pc['f1'])} | {_fmt(pc['recall'])} | {pc['support']} |")
        lines += ['', f'Confusion matrix ({name}; rows: ground truth, columns: prediction)', '',
                  '| gt \\ pred | ' + ' | '.join(classes) + ' |',
                  '| --- ' * (len(classes) + 1) + '|']
        for c, row in zip(classes, m['confusion_matrix']):
            lines.append(f'| {c} | ' + ' | '.join(str(v) for v in row) + ' |')
    lines += ['', '## Per fold' if summary['protocol'] == 'loso' else '## Per test split', '',
              '| fold | samples | UF1 | UAR | ACC | classes present |',
              '| --- | --- | --- | --- | --- | --- |']
    for f in summary['per_fold']:
        lines.append(f"| {f['fold']} | {f['num_samples']} | {_fmt(f['UF1'])} | {_fmt(f['UAR'])} | "
                     f"{_fmt(f['ACC'])} | {', '.join(f.get('classes_present', []))} |")
    return '\n'.join(lines) + '\n'


def write_reports(work_dir: str, summary: Dict, rows: Sequence[Dict], plots: bool = True) -> Dict:
    """Write predictions.csv, summary.json, summary.md (+ the figures); returns the paths."""
    os.makedirs(work_dir, exist_ok=True)
    classes = summary['classes']
    paths = dict(predictions=osp.join(work_dir, 'predictions.csv'),
                 summary_json=osp.join(work_dir, 'summary.json'),
                 summary_md=osp.join(work_dir, 'summary.md'))
    write_pooled_csv(paths['predictions'], rows, classes)
    with open(paths['summary_json'], 'w') as f:
        json.dump(summary, f, indent=2)
    with open(paths['summary_md'], 'w') as f:
        f.write(summary_markdown(summary))
    if plots:
        if summary['protocol'] == 'loso':
            paths['confusion_matrix'] = plot_confusion_matrix(
                summary['pooled']['confusion_matrix'], classes,
                osp.join(work_dir, 'confusion_matrix.png'),
                title=_cm_title('pooled LOSO', summary['pooled']))
        else:
            for name, m in summary['splits'].items():
                paths[f'confusion_matrix_{name}'] = plot_confusion_matrix(
                    m['confusion_matrix'], classes, osp.join(work_dir,
                                                             f'confusion_matrix_{name}.png'),
                    title=_cm_title(name, m))
        paths['per_fold'] = plot_per_fold(summary, osp.join(work_dir, 'per_fold.png'))
    return paths


def _cm_title(name: str, m: Dict) -> str:
    return (f"{name}: UF1 {m['UF1']:.4f}  UAR {m['UAR']:.4f}  ACC {m['ACC']:.4f}  "
            f"(n={m['num_samples']})")
