"""Emotion transformer head of MER-CLIP (Sec. III-D, Eq. 4).

The fused video feature F_g is put in front of the local visual tokens, the sequence goes through
two transformer blocks (hidden 512, 4 heads, MLP ratio 4, dropout 0.1 as in the authors' code), and
a linear classifier reads the output at the F_g position. It is an MMAction2 ``BaseHead``, so it
also plugs into stock recognizers: besides MERUniFormerV2's ``(F_g, tokens)`` it accepts a (B, C)
feature (a one-token sequence) or any (B, C, T, H, W)-like feature map (its positions become the
tokens and their mean plays F_g).
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from torch import Tensor, nn

from ..backbones.visual_features import VisualFeatures, split_fused_and_tokens


@MODELS.register_module()
class EmotionTransformerHead(BaseHead):
    """Two transformer blocks over [F_g; local tokens], then a linear classifier on the F_g token.

    Args:
        num_classes (int): number of emotion classes.
        in_channels (int): channels of the backbone features (768 for UniFormerV2-B/16).
        hidden_dim (int): width of the transformer blocks; the input is projected to it when it
            differs from ``in_channels``.
        num_layers (int): transformer blocks (2 in the paper).
        num_heads (int): attention heads (4).
        mlp_ratio (float): MLP hidden = ``mlp_ratio * hidden_dim`` (4).
        dropout (float): dropout inside the blocks (0.1).
        dropout_ratio (float): dropout before the classifier.
        readout (str): ``'fused'`` classifies the output at the F_g position (default); ``'mean'``
            the mean over all output tokens.
        loss_cls (dict): classification loss; softmax focal loss with gamma 2 by default.
        topk (tuple): top-k accuracies logged in training (``(1,)``: the class counts are small).
    """

    uses_local_tokens = True  # MERCLIP passes (F_g, tokens) to heads that declare this

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 hidden_dim: int = 512,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 mlp_ratio: float = 4.0,
                 dropout: float = 0.1,
                 dropout_ratio: float = 0.0,
                 readout: str = 'fused',
                 loss_cls: Dict = dict(type='SoftmaxFocalLoss', gamma=2.0),
                 topk: Union[int, Sequence[int]] = (1, ),
                 average_clips: Optional[str] = 'prob',
                 init_cfg: Optional[Dict] = dict(type='TruncNormal', layer='Linear', std=0.02),
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, topk=tuple(
            [topk] if isinstance(topk, int) else topk), average_clips=average_clips,
                         init_cfg=init_cfg, **kwargs)
        if readout not in ('fused', 'mean'):
            raise ValueError(f"EmotionTransformerHead: readout must be 'fused' or 'mean', "
                             f'got {readout!r}')
        if hidden_dim % num_heads:
            raise ValueError(f'EmotionTransformerHead: hidden_dim {hidden_dim} is not divisible '
                             f'by num_heads {num_heads}')
        self.readout = readout
        self.norm_in = nn.LayerNorm(in_channels)
        self.proj = nn.Linear(in_channels, hidden_dim) if in_channels != hidden_dim \
            else nn.Identity()
        # nn.TransformerEncoderLayer runs its attention through scaled_dot_product_attention.
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(
                d_model=hidden_dim, nhead=num_heads, dim_feedforward=int(hidden_dim * mlp_ratio),
                dropout=dropout, activation='gelu', batch_first=True, norm_first=True)
            for _ in range(num_layers)
        ])
        self.norm_out = nn.LayerNorm(hidden_dim)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(hidden_dim, num_classes)

    def forward(self, x: VisualFeatures, **kwargs) -> Tensor:
        """x: (F_g (B, C), local tokens (B, N, C)), a dict, (B, C) or (B, C, T, H, W) -> (B, K)."""
        fused, tokens = split_fused_and_tokens(x)
        if fused.size(-1) != self.in_channels:
            raise ValueError(f'EmotionTransformerHead built for in_channels={self.in_channels} '
                             f'got features with {fused.size(-1)} channels')
        seq = fused.unsqueeze(1)  # (B, 1, C)
        if tokens is not None:
            seq = torch.cat([seq, tokens], dim=1)  # Eq. 4: (B, 1 + N, C)
        seq = self.proj(self.norm_in(seq))  # (B, 1 + N, hidden)
        for block in self.blocks:
            seq = block(seq)
        seq = self.norm_out(seq)
        feat = seq[:, 0] if self.readout == 'fused' else seq.mean(1)  # (B, hidden)
        # float32 logits under autocast: focal loss and mmaction's numpy top-k accuracy need them
        return self.fc_cls(self.dropout(feat)).float()  # (B, K)
