"""UF1, UAR and ACC as used in micro-expression recognition (MEGC convention).

- UF1 = mean over classes of F1_c = 2TP_c / (2TP_c + FP_c + FN_c)
- UAR = mean over classes of recall_c = TP_c / (TP_c + FN_c)
- ACC = correct / total

Absent classes (a LOSO fold rarely holds every class): a class with no ground-truth sample has no
recall, so UAR averages over the classes present in the ground truth; a class neither in the ground
truth nor in the predictions has no F1 (0/0), so UF1 averages over classes present in the ground
truth or the predictions (a class only predicted counts with F1 = 0). Per-class values of undefined
classes are NaN. This matches scikit-learn's macro F1 and balanced accuracy on the same labels.
"""
from typing import Dict, Sequence

import numpy as np


def confusion_matrix(gt: Sequence[int], pred: Sequence[int], num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts, rows = ground truth, columns = prediction."""
    gt = np.asarray(gt, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if gt.shape != pred.shape:
        raise ValueError(f'gt and pred differ in length: {gt.shape} vs {pred.shape}')
    for name, arr in (('gt', gt), ('pred', pred)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f'{name} labels must lie in [0, {num_classes}), got '
                             f'{arr.min()}..{arr.max()}')
    return np.bincount(gt * num_classes + pred, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def mer_metrics(gt: Sequence[int], pred: Sequence[int], num_classes: int) -> Dict:
    """Pooled UF1 / UAR / ACC plus per-class F1, recall and the confusion matrix."""
    cm = confusion_matrix(gt, pred, num_classes)
    if cm.sum() == 0:
        raise ValueError('no predictions to evaluate (empty fold or empty test set)')
    tp = np.diag(cm).astype(float)
    n_gt = cm.sum(axis=1).astype(float)
    n_pred = cm.sum(axis=0).astype(float)
    f1_den = n_gt + n_pred  # = 2TP + FP + FN
    with np.errstate(invalid='ignore', divide='ignore'):
        f1 = np.where(f1_den > 0, 2 * tp / f1_den, np.nan)
        recall = np.where(n_gt > 0, tp / n_gt, np.nan)
    return dict(
        uf1=float(np.nanmean(f1)),
        uar=float(np.nanmean(recall)),
        acc=float(tp.sum() / cm.sum()),
        per_class_f1=f1.tolist(),
        per_class_recall=recall.tolist(),
        confusion_matrix=cm.tolist(),
        num_samples=int(cm.sum()),
    )
