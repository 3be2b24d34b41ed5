"""A 2D backbone's feature map as MER-CLIP's visual features: a global F_g and local tokens.

MER-CLIP's heads read ``(F_g (B, D), local tokens (B, N, D))`` (:mod:`.visual_features`): the
emotion transformer head attends over [F_g; tokens], the AU-text alignment projects F_g. A CNN's
(B, C, h, w) map has the tokens (its h * w positions) but, unlike a ViT's tokens, they carry no
position: the transformer head, which has no positional embedding of its own, would see a bag of
local motions without knowing whether a movement is at the brows or the mouth, and the position of
a movement is what tells micro-expressions apart. So this wrapper gives both parts the layout:

    map       = backbone(x)                            # (B, C, h, w)
    F_g       = Linear(C * h * w -> D)(flatten(map))   # (B, D): the whole layout, as the dense
                                                       #   layer of STSTNet / OFF-ApexNet sees it
    tokens    = Linear(C -> D)(positions) + pos_embed  # (B, h * w, D), learned position embedding

Mix it in by config around any 2D backbone that returns a map::

    backbone=dict(type='FeatureMapTokens', backbone=dict(type='STSTNet'), embed_dim=64,
                  input_size=(28, 28))
"""
from typing import Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


@MODELS.register_module()
class FeatureMapTokens(BaseModule):
    """``backbone`` (B, C, h, w) map -> (F_g (B, D), tokens (B, h*w, D)) (module docstring).

    Args:
        backbone: config of a 2D backbone returning a (B, C, h, w) map.
        embed_dim: D, the width of F_g and of the tokens.
        input_size: (H, W) of the input images; the map size is found by one dummy forward.
        in_channels: channels of the input images (for that forward).
        norm: LayerNorm on F_g and on the tokens.
    """

    def __init__(self,
                 backbone: dict,
                 embed_dim: int = 64,
                 input_size: Sequence[int] = (28, 28),
                 in_channels: int = 3,
                 norm: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        with torch.no_grad():
            was_training = self.backbone.training
            self.backbone.eval()  # no batch-norm statistics from the dummy input
            probe = self.backbone(torch.zeros(1, in_channels, *input_size))
            self.backbone.train(was_training)
        if not isinstance(probe, Tensor) or probe.dim() != 4:
            raise ValueError(f'FeatureMapTokens: the backbone must return a (B, C, h, w) map, '
                             f'got {type(probe).__name__} {getattr(probe, "shape", "")}')
        _, channels, h, w = probe.shape
        self.map_shape: Tuple[int, int, int] = (channels, h, w)
        self.out_channels = embed_dim
        self.global_proj = nn.Linear(channels * h * w, embed_dim)
        self.token_proj = nn.Linear(channels, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, h * w, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.norm_global = nn.LayerNorm(embed_dim) if norm else nn.Identity()
        self.norm_tokens = nn.LayerNorm(embed_dim) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """x: (B, C_in, H, W) -> (F_g (B, D), tokens (B, h*w, D))."""
        fmap = self.backbone(x)  # (B, C, h, w)
        if tuple(fmap.shape[1:]) != self.map_shape:
            raise ValueError(f'FeatureMapTokens was built for a {self.map_shape} map (input_size), '
                             f'the backbone returned {tuple(fmap.shape[1:])}')
        fused = self.norm_global(self.global_proj(fmap.flatten(1)))  # (B, D)
        tokens = self.token_proj(fmap.flatten(2).transpose(1, 2))  # (B, h*w, D)
        tokens = self.norm_tokens(tokens + self.pos_embed)
        return fused, tokens
