"""AdamW over stacked ``(F, ...)`` parameters: each fold its lr, weight decay, step count.

The arithmetic is ``torch.optim.AdamW``'s (single-tensor path: decoupled decay, then the moment
updates, then ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``), with the per-fold
scalars as ``(F, 1, ...)`` tensors. Folds outside ``active`` (finished, or without a batch this
step) are left exactly as they were: no decay, no moment update, no step count.
"""
from typing import Dict

import torch
from torch import Tensor


class StackedAdamW:
    """AdamW of stacked parameters ``params[name]: (F, ...)`` (module docstring).

    ``decoupled=False`` is Adam (L2 decay added to the gradient), as ``torch.optim.Adam``.
    """

    def __init__(self, params: Dict[str, Tensor], betas=(0.9, 0.999), eps: float = 1e-8,
                 decoupled: bool = True) -> None:
        self.params = params
        self.betas = betas
        self.eps = eps
        self.decoupled = decoupled
        any_p = next(iter(params.values()))
        self.step_count = torch.zeros(any_p.shape[0], dtype=torch.float64)
        self.exp_avg = {n: torch.zeros_like(p) for n, p in params.items()}
        self.exp_avg_sq = {n: torch.zeros_like(p) for n, p in params.items()}

    @torch.no_grad()
    def step(self, active: Tensor, lr: Dict[str, Tensor], weight_decay: Dict[str, Tensor]):
        """One step of the folds ``active`` (F bools); ``lr[name]``, ``weight_decay[name]``: (F,)
        float64. Gradients of inactive folds are ignored."""
        b1, b2 = self.betas
        self.step_count += active.double()
        t = self.step_count.clamp(min=1)
        bc1 = 1 - b1 ** t
        bc2_sqrt = (1 - b2 ** t).sqrt()
        rows = active.nonzero().flatten()
        every = bool(active.all())
        for name, p in self.params.items():
            if p.grad is None:
                continue
            shape = (-1, ) + (1, ) * (p.dim() - 1)
            pick = (lambda x: x) if every else (lambda x: x[rows])
            grad, par = pick(p.grad), pick(p.data)
            m, v = pick(self.exp_avg[name]), pick(self.exp_avg_sq[name])
            lr_r, wd = pick(lr[name]), pick(weight_decay[name])
            if self.decoupled:
                par.mul_((1 - lr_r * wd).to(p.dtype).view(shape))
            else:
                grad = grad + wd.to(p.dtype).view(shape) * par
            m.lerp_(grad, 1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            step_size = (lr_r / pick(bc1)).to(p.dtype).view(shape)
            denom = (v.sqrt() / pick(bc2_sqrt).to(p.dtype).view(shape)).add_(self.eps)
            par.sub_(step_size * (m / denom))
            if not every:  # the picked rows were copies: write them back
                p.data[rows] = par
                self.exp_avg[name][rows] = m
                self.exp_avg_sq[name][rows] = v

    def state_dict(self) -> dict:
        return dict(step_count=self.step_count, exp_avg=self.exp_avg, exp_avg_sq=self.exp_avg_sq)

    def load_state_dict(self, state: dict) -> None:
        self.step_count = state['step_count'].clone()
        for key in ('exp_avg', 'exp_avg_sq'):
            for n, t in state[key].items():
                getattr(self, key)[n].copy_(t)
