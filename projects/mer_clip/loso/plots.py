"""Report figures (matplotlib, Agg): pooled confusion matrix (paper Fig. 5) and per-fold bars."""
from typing import Sequence

import numpy as np

from .summary import LOSOSummary


def _pyplot():
    import matplotlib  # here: figures only, and pyplot takes ~0.8 s to import
    matplotlib.use('Agg', force=True)  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def plot_confusion_matrix(cm, classes: Sequence[str], out_file: str, title: str = '') -> str:
    """Row-normalised confusion matrix (colour and percentage) with the counts in each cell."""
    plt = _pyplot()
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(classes)
    size = max(4.5, 0.9 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(norm, cmap='Blues', vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label='fraction of the true class')
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45 if n > 4 else 0, ha='right' if n > 4 else 'center')
    ax.set_yticklabels(classes)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f'{100 * norm[i, j]:.1f}%\n({int(cm[i, j])})', ha='center', va='center',
                    fontsize=9, color='white' if norm[i, j] > 0.5 else 'black')
    if title:
        ax.set_title(title, fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return out_file


def plot_per_fold(summary: LOSOSummary, out_file: str) -> str:
    """UF1 and ACC of every fold (subjects on the x axis) with the pooled values as lines."""
    plt = _pyplot()
    folds = summary.per_fold
    names = [str(f['fold']) for f in folds]
    uf1 = [f['UF1'] for f in folds]
    acc = [f['ACC'] for f in folds]
    x = np.arange(len(folds))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(folds) + 2.0), 4.2))
    w = 0.4
    ax.bar(x - w / 2, uf1, w, label='UF1 (fold)', color='#4c72b0')
    ax.bar(x + w / 2, acc, w, label='ACC (fold)', color='#dd8452')
    if summary.protocol == 'loso':
        pooled = summary.pooled
        ax.axhline(pooled['UF1'], color='#4c72b0', ls='--', lw=1.2,
                   label=f"pooled UF1 {pooled['UF1']:.3f}")
        ax.axhline(pooled['ACC'], color='#dd8452', ls='--', lw=1.2,
                   label=f"pooled ACC {pooled['ACC']:.3f}")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=90 if len(folds) > 12 else 0)
    ax.set_xlabel('held-out subject' if summary.protocol == 'loso' else 'test split')
    ax.set_ylabel('score')
    ax.set_ylim(0, 1.05)
    for xi, f in zip(x, folds):
        ax.text(xi, 1.01, f"n={f['num_samples']}", ha='center', va='bottom', fontsize=7)
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title('per-fold scores (headline = pooled; folds with few samples are noisy)',
                 fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return out_file
