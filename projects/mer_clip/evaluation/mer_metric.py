"""MERMetric: UF1 / UAR / ACC on pooled predictions, with per-sample dumps for LOSO pooling.

A sample whose scores are NaN or infinite (a diverged model) is an error naming it, never a
prediction of class 0."""
import csv
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger
from mmaction.registry import METRICS

from ..utils.atomic_write import atomic_open
from .functional import mer_metrics


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


class NonFiniteScoreError(ValueError):
    """A sample's class scores are NaN or infinite: the model diverged, there is no prediction
    (``argmax`` would silently call it class 0)."""


def _during() -> str:
    """`` in the validation after epoch N`` when a training run validates, else ``''``."""
    hub = MessageHub.get_current_instance()
    epoch = hub.get_info('epoch')
    if hub.get_info('loop_stage') == 'val' and isinstance(epoch, int):
        return f' in the validation after epoch {epoch + 1}'
    return ''


def check_scores(scores: np.ndarray, sample_id: str, subject: str) -> None:
    """Raise :class:`NonFiniteScoreError`, naming the sample, when a score is not finite."""
    if not np.isfinite(scores).all():
        shown = ', '.join(f'{v:g}' for v in scores.reshape(-1)[:8])
        raise NonFiniteScoreError(
            f'sample {sample_id} (subject {subject!r}){_during()}: the class scores are not '
            f'finite ({shown}): the model diverged in training. Lower the learning rate '
            '(optim_wrapper.optimizer.lr) or train without AMP, and train again')


def write_predictions_csv(path: str, rows: List[Dict], classes: Optional[Sequence[str]] = None):
    """Write per-sample predictions: sample_id, subject, gt, pred, score_<class>..."""
    if not rows:
        raise ValueError(f'no predictions to write to {path}')
    num_classes = len(rows[0]['scores'])
    names = list(classes) if classes else [str(i) for i in range(num_classes)]
    with atomic_open(path, newline='') as f:
        w = csv.writer(f)
        w.writerow(['sample_id', 'subject', 'gt', 'pred'] + [f'score_{n}' for n in names])
        for r in rows:
            w.writerow([r['sample_id'], r['subject'], r['gt'], r['pred']] +
                       [f'{s:.6f}' for s in r['scores']])


def read_predictions_csv(path: str) -> List[Dict]:
    """Inverse of :func:`write_predictions_csv`."""
    with open(path, newline='') as f:
        rows = []
        for r in csv.DictReader(f):
            scores = [float(v) for k, v in r.items() if k.startswith('score_')]
            rows.append(dict(sample_id=r['sample_id'], subject=r['subject'], gt=int(r['gt']),
                             pred=int(r['pred']), scores=scores))
    return rows


@METRICS.register_module()
class MERMetric(BaseMetric):
    """UF1, UAR, ACC, per-class F1/recall and confusion matrix of an ME test set.

    All predictions the evaluator sees are pooled (the MEGC convention: in LOSO, pool every fold
    before computing, never average fold scores). When the test set spans several subjects, the mean
    of per-subject scores is added under ``subject_mean/*`` for reference only.

    Args:
        out_file: optional CSV path; every sample's ``sample_id``, ``subject``, gt, pred and scores
            are written there (rank 0), so folds can be pooled afterwards by ``tools/loso.py``.
        class_names: names for per-class keys; defaults to ``dataset_meta['classes']``.
    """
    default_prefix = 'mer'

    def __init__(self, out_file: Optional[str] = None, class_names: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_file = out_file
        self.class_names = class_names

    def process(self, data_batch, data_samples: Sequence) -> None:
        for ds in data_samples:
            get = ds.get if isinstance(ds, dict) else (lambda k, d=None, _ds=ds: getattr(_ds, k, d))
            scores = _to_numpy(get('pred_score'))
            gt = _to_numpy(get('gt_label')).reshape(-1)
            meta = ds if isinstance(ds, dict) else ds.metainfo
            sample_id = str(meta.get('sample_id', len(self.results)))
            subject = str(meta.get('subject', ''))
            check_scores(scores, sample_id, subject)
            self.results.append(dict(
                sample_id=sample_id,
                subject=subject,
                gt=int(gt[0]),
                pred=int(scores.argmax()),
                scores=scores.reshape(-1).tolist()))

    def _classes(self, num_classes: int) -> List[str]:
        names = self.class_names or (self.dataset_meta or {}).get('classes')
        if names is None or len(names) != num_classes:
            return [str(i) for i in range(num_classes)]
        return list(names)

    def compute_metrics(self, results: List[Dict]) -> Dict:
        logger = MMLogger.get_current_instance()
        if not results:
            raise ValueError('MERMetric got no predictions: the test split is empty')
        num_classes = len(results[0]['scores'])
        classes = self._classes(num_classes)
        gt = [r['gt'] for r in results]
        pred = [r['pred'] for r in results]
        pooled = mer_metrics(gt, pred, num_classes)
        out = dict(UF1=pooled['uf1'], UAR=pooled['uar'], ACC=pooled['acc'])
        for name, f1, rec in zip(classes, pooled['per_class_f1'], pooled['per_class_recall']):
            out[f'F1_{name}'] = f1
            out[f'recall_{name}'] = rec

        by_subject = defaultdict(list)
        for r in results:
            by_subject[r['subject']].append(r)
        if len(by_subject) > 1:
            per = [mer_metrics([r['gt'] for r in rs], [r['pred'] for r in rs], num_classes)
                   for rs in by_subject.values()]
            for k in ('uf1', 'uar', 'acc'):
                out[f'subject_mean/{k.upper()}'] = float(np.mean([p[k] for p in per]))

        cm = np.array(pooled['confusion_matrix'])
        width = max(len(c) for c in classes)
        lines = ['confusion matrix (rows: ground truth, columns: prediction)',
                 ' ' * (width + 1) + ' '.join(f'{c[:6]:>6}' for c in classes)]
        lines += [f'{c:>{width}} ' + ' '.join(f'{v:6d}' for v in row) for c, row in zip(classes, cm)]
        logger.info('\n'.join(lines))
        if self.out_file:
            write_predictions_csv(self.out_file, results, classes)
            logger.info(f'MERMetric: wrote {len(results)} predictions to {self.out_file}')
        return out
