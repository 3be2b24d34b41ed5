"""The visual features a MER-CLIP backbone hands to the heads: a global F_g and local tokens.

``MERUniFormerV2`` returns ``(F_g (B, C), local tokens (B, N, C))`` (or a dict with ``fused`` and
``local_tokens``), ``FeatureMapTokens`` the same tuple for a 2D backbone's map, a stock backbone a
(B, C) vector or a (B, C, T, H, W) / (B, C, H, W) map. :func:`split_fused_and_tokens` reads any of
them, so the emotion head, the AU-text alignment and inference agree on what F_g is.
"""
from typing import Dict, Optional, Tuple, Union

from torch import Tensor

#: every backbone output the heads accept
VisualFeatures = Union[Tensor, Tuple[Tensor, Tensor], Dict[str, Tensor]]


def split_fused_and_tokens(x: VisualFeatures) -> Tuple[Tensor, Optional[Tensor]]:
    """Return (fused (B, C), tokens (B, N, C) or None) from any supported backbone output."""
    if isinstance(x, dict):
        if 'fused' not in x:
            raise KeyError(f"head input dict needs a 'fused' entry, got keys {sorted(x)}")
        return x['fused'], x.get('local_tokens')
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(f'head input tuple must be (fused, local_tokens), got {len(x)} items')
        return x[0], x[1]
    if not isinstance(x, Tensor):
        raise TypeError(f'unsupported head input type {type(x).__name__}')
    if x.dim() == 2:  # (B, C)
        return x, None
    if x.dim() >= 3:  # (B, C, *positions), e.g. (B, C, T, H, W)
        tokens = x.flatten(2).transpose(1, 2)  # (B, N, C)
        return tokens.mean(1), tokens
    raise ValueError(f'head input must be (B, C) or (B, C, ...), got shape {tuple(x.shape)}')


__all__ = ['VisualFeatures', 'split_fused_and_tokens']
