"""The report of one LOSO / fixed-split experiment as a type (:class:`LOSOSummary`): built here
from the pooled predictions, written as summary.json and read back by every tool through it.

MER reports UF1 / UAR / ACC on the predictions of all LOSO folds *pooled* (MEGC convention). A mean
of per-fold scores is a different (and, with folds holding one or two classes, much noisier) number;
it is kept too, but labelled ``subject_mean`` and never used as the headline.

When the predictions come from several source datasets (a joint annotation such as the MEGC2019
composite, whose records carry ``dataset``), the summary adds ``per_dataset``: the same pooled
metrics on each dataset's predictions (the MEGC2019 table's SMIC / CASME II / SAMM columns beside
the composite one).
"""
import datetime
import json
import os.path as osp
import platform
import re
from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..evaluation import mer_metrics

METRICS = ('UF1', 'UAR', 'ACC')
SUBJECT_MEAN_NOTE = ('mean over folds of per-fold scores, for reference only; the MEGC / paper '
                     'metric is the pooled one')
NOT_A_SUMMARY = ('{file} is not a summary.json of tools/loso.py ({why}); give work dirs or their '
                 'summary.json')


class SummaryError(ValueError):
    """A file that is no readable summary.json of tools/loso.py (missing, damaged, another file)."""


@dataclass(kw_only=True)
class LOSOSummary:
    """Everything summary.json holds; the field order is the key order of the file.

    LOSO (``protocol == 'loso'``, any fold protocol whose predictions are pooled): ``pooled``,
    ``per_dataset`` (joint annotations only), ``subject_mean``, ``num_folds``. Fixed splits:
    ``splits``, one metrics block per test split. Both: ``per_fold`` (one entry per fold or test
    split). The rest is provenance; a field that is None is not written.
    """
    protocol: str
    classes: List[str]
    created: str
    pooled: Optional[Dict] = None
    per_dataset: Optional[Dict[str, Dict]] = None
    splits: Optional[Dict[str, Dict]] = None
    per_fold: List[Dict]
    subject_mean: Optional[Dict] = None
    num_folds: Optional[int] = None
    fold_key: Optional[str] = None
    protocol_title: Optional[str] = None
    experiment: Optional[str] = None
    config: Optional[str] = None
    config_hash: Optional[str] = None
    cfg_options: Optional[List[str]] = None
    fold_cfg_options: Optional[Dict[str, List[str]]] = None
    checkpoint_rule: Optional[str] = None
    seeds: Optional[Dict] = None
    cpu: Optional[Dict] = None
    versions: Optional[Dict[str, str]] = None
    report_files: Optional[Dict[str, str]] = None

    def to_json(self) -> Dict:
        """The summary.json dict: the fields in order, those that are None left out."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, data, file: str = 'the summary') -> 'LOSOSummary':
        """The summary of a summary.json dict (also of older runs, which lack optional keys);
        :class:`SummaryError` naming ``file`` when it is none."""
        if not isinstance(data, dict):
            raise SummaryError(NOT_A_SUMMARY.format(file=file, why='not a JSON object'))
        required = ['protocol', 'classes', 'created', 'per_fold'] + (
            ['pooled', 'subject_mean', 'num_folds'] if data.get('protocol') == 'loso'
            else ['splits'])
        missing = [k for k in required if k not in data]
        if missing:
            raise SummaryError(NOT_A_SUMMARY.format(file=file, why='no ' + ', '.join(missing)))
        unknown = [k for k in data if k not in {f.name for f in fields(cls)}]
        if unknown:
            raise SummaryError(NOT_A_SUMMARY.format(file=file,
                                                    why='unknown keys ' + ', '.join(unknown)))
        return cls(**data)

    @classmethod
    def load(cls, path: str) -> 'LOSOSummary':
        """The summary of a ``tools/loso.py`` work dir (or of its summary.json)."""
        file = osp.join(path, 'summary.json') if osp.isdir(path) else path
        if not osp.isfile(file):
            raise SummaryError(f'{file} not found: run tools/loso.py on {path} first (or '
                               '--report-only to pool finished folds)')
        try:
            with open(file) as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SummaryError(NOT_A_SUMMARY.format(file=file, why=e)) from None
        return cls.from_json(data, file)

    def groups(self) -> Dict[str, Dict]:
        """The reported metric blocks by name: ``pooled``, then ``dataset <name>`` per source
        dataset of a joint annotation, for LOSO; one per test split otherwise."""
        if self.protocol != 'loso':
            return dict(self.splits)
        out = {'pooled': self.pooled}
        out.update((f'dataset {k}', v) for k, v in (self.per_dataset or {}).items())
        return out

    def headline(self) -> Dict[str, Dict[str, float]]:
        """``{group: {UF1, UAR, ACC}}`` of :meth:`groups`."""
        return {g: {k: m[k] for k in METRICS} for g, m in self.groups().items()}


def versions() -> Dict[str, str]:
    """Versions of the stack that produced a run (with the BLAS / oneDNN torch was built with,
    and Python's: each can change a last bit)."""
    out = {}
    for name in ('torch', 'mmengine', 'mmaction', 'mmcv', 'mer_clip', 'numpy', 'cv2', 'PIL'):
        try:
            mod = __import__(name)
            out[name] = str(getattr(mod, '__version__', 'unknown'))
        except Exception:  # pragma: no cover - missing optional package
            out[name] = 'not installed'
    out['python'] = platform.python_version()
    out.update(torch_libraries())
    return out


def torch_libraries() -> Dict[str, str]:
    """The MKL and oneDNN versions in torch's build (``torch.__config__.show()``)."""
    try:
        import torch
        text = torch.__config__.show()
    except Exception:  # pragma: no cover - no torch
        return {}
    out = {}
    for key, pattern in (('mkl', r'Math Kernel Library Version ([^\s]+)'),
                         ('onednn', r'MKL-DNN v([^\s]+)')):
        found = re.search(pattern, text)
        out[key] = found.group(1) if found else 'not in this build'
    return out


def cpu_block(mode: Dict, processes: Sequence[Dict]) -> Dict:
    """summary.json's ``cpu``: the run's mode and pins (loso_run.json) and how its fold
    processes computed (their fold.json records): CPU models, kernel paths, threads."""
    def values(key):
        return sorted({str(p.get(key)) for p in processes})
    out = dict(mode)
    out.update(cpu_models=values('cpu_model'), kernel_paths=values('kernel_path'),
               torch_threads=values('torch_threads'),
               deterministic_algorithms=values('deterministic_algorithms'),
               processes=len(processes))
    return out


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
                  fold_info: Optional[Dict[str, Dict]] = None, **provenance) -> LOSOSummary:
    """The summary of the pooled predictions.

    ``rows_by_group``: for LOSO one group ``{'pooled': all rows}``; for fixed splits one group per
    test split (``{'test_a': rows, 'test_b': rows}``), each reported on its own. Rows with a
    ``dataset`` add ``per_dataset`` (:func:`per_dataset_blocks`). ``provenance``: the provenance
    fields of :class:`LOSOSummary` (None: left out); ``versions`` defaults to this stack's.
    """
    created = datetime.datetime.now().isoformat(timespec='seconds')
    if provenance.get('versions') is None:
        provenance['versions'] = versions()
    if protocol == 'loso':
        rows = rows_by_group['pooled']
        folds = per_fold_table(rows, classes, fold_info)
        return LOSOSummary(
            protocol=protocol, classes=list(classes), created=created,
            pooled=metrics_block(rows, classes),
            per_dataset=per_dataset_blocks(rows, classes) or None, per_fold=folds,
            subject_mean=dict(note=SUBJECT_MEAN_NOTE,
                              **{k: float(np.mean([f[k] for f in folds])) for k in METRICS}),
            num_folds=len(folds), **provenance)
    splits = {name: metrics_block(rows, classes) for name, rows in rows_by_group.items()}
    per_fold = [dict(fold=name, subjects=sorted({r['subject'] for r in rows}),
                     num_samples=len(rows), **{k: splits[name][k] for k in METRICS},
                     **(fold_info or {}).get(name, {}))
                for name, rows in rows_by_group.items()]
    return LOSOSummary(protocol=protocol, classes=list(classes), created=created, splits=splits,
                       per_fold=per_fold, **provenance)
