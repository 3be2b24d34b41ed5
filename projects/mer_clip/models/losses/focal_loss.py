"""Softmax focal loss for the emotion classifier (MER-CLIP, Sec. III-D: gamma = 2).

Micro-expression datasets are small and imbalanced (e.g. SAMM: 57 anger vs 12 contempt); the focal
term ``(1 - p_t) ** gamma`` down-weights the easy, frequent classes.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmaction.models.losses.base import BaseWeightedLoss
from mmaction.registry import MODELS


@MODELS.register_module()
class SoftmaxFocalLoss(BaseWeightedLoss):
    """Multi-class focal loss on softmax probabilities.

    ``loss_i = -sum_k alpha_k * y_ik * (1 - p_ik) ** gamma * log p_ik``

    With hard labels ``y`` is one-hot, so this is ``-alpha_y (1 - p_y)^gamma log p_y``. At
    ``gamma = 0`` it is exactly ``F.cross_entropy`` (with ``weight=alpha`` when given), including
    the ``'mean'`` reduction, which divides by the summed weights of the targets as cross-entropy
    does.
    Computed in float32 with autocast off, whatever the dtype of the logits and the surrounding
    autocast (mixed-precision training).

    Args:
        gamma (float): focusing parameter; the paper uses 2.
        alpha (sequence of float, optional): per-class weights (length = number of classes).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): factor on the loss (mmaction convention).
    """

    def __init__(self,
                 gamma: float = 2.0,
                 alpha: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight)
        if gamma < 0:
            raise ValueError(f'SoftmaxFocalLoss: gamma must be >= 0, got {gamma}')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"SoftmaxFocalLoss: reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        self.gamma = float(gamma)
        self.reduction = reduction
        if alpha is not None:
            alpha = torch.as_tensor(alpha, dtype=torch.float32)
            if alpha.dim() != 1 or (alpha < 0).any():
                raise ValueError('SoftmaxFocalLoss: alpha must be a 1-D list of non-negative '
                                 f'per-class weights, got {alpha.tolist()}')
            self.register_buffer('alpha', alpha, persistent=False)
        else:
            self.alpha = None

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs) -> torch.Tensor:
        """cls_score: (B, K) logits; label: (B,) class indices or (B, K) soft targets.

        Float32 with autocast off, whatever the caller's precision (see the class docstring)."""
        with torch.autocast(device_type=cls_score.device.type, enabled=False):
            return self._focal_fp32(cls_score.float(), label)

    def _focal_fp32(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        num_classes = logits.size(-1)
        if self.alpha is not None and self.alpha.numel() != num_classes:
            raise ValueError(f'SoftmaxFocalLoss: alpha has {self.alpha.numel()} class weights but '
                             f'the classifier has {num_classes} classes')
        if label.dim() == logits.dim():  # soft targets (label smoothing, mixing)
            target = label.float()
        else:
            label = label.long()
            if label.numel() and (label.min() < 0 or label.max() >= num_classes):
                raise ValueError(f'SoftmaxFocalLoss: labels must lie in [0, {num_classes}), '
                                 f'got {label.tolist()}')
            target = F.one_hot(label, num_classes).float()

        log_p = F.log_softmax(logits, dim=-1)  # (B, K)
        focal = (1.0 - log_p.exp()).clamp(min=0).pow(self.gamma) if self.gamma else 1.0
        per_class = -target * focal * log_p  # (B, K)
        if self.alpha is not None:
            per_class = per_class * self.alpha.to(per_class.device)
            norm = (target * self.alpha.to(target.device)).sum()
        else:
            norm = target.sum()
        loss = per_class.sum(dim=-1)  # (B,)
        if self.reduction == 'none':
            return loss
        if self.reduction == 'sum':
            return loss.sum()
        return loss.sum() / norm.clamp(min=torch.finfo(torch.float32).tiny)
