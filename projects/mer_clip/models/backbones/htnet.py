"""HTNet: Hierarchical Transformer Network (Wang, Zhang, Luo, Sankaranarayana; Neurocomputing 602,
2024, "HTNet for micro-expression recognition").

Input: the 2 x 2 mosaic of four facial areas cut from the onset-apex flow image (u, v, strain)
around facial landmarks, ``CropFacialAreas``: left eye | right eye over left lip | right lip,
each area 14 x 14, so the mosaic is 28 x 28. HTNet is a nested hierarchy of transformer levels::

    patch embedding   conv p x p / p (p = 7)             (B, 3, 28, 28) -> (B, d, 4, 4)
    level k = L-1..0  the map is cut into 2^k x 2^k blocks; inside each block, position
                      embedding + n_k pre-norm blocks of (multi-head self-attention, MLP x4),
                      attention only between the tokens of one block ("local self-attention")
    aggregation       conv 3x3, channel LayerNorm, max pool 3 / 2    (between levels: width x2,
                      map /2: at 2 x 2 each position is one facial area, the last level joins
                      the eye and lip areas)
    head              channel LayerNorm, mean over positions, linear  (B, 4d) -> classes

Widths d, 2d, 4d and heads h, 2h, 4h from the lowest level up (head width d // h).

Facts and their sources. Paper: the four areas (left / right eye, left / right lip), the
transformer layers with local self-attention per area and the aggregation layers between eye and
lip areas. The authors' released code (wangzhifengharrison/HTNet, ``Model.py`` and
``main_HTNet.py``): patch 7, dim 256, heads 3, 3 levels, blocks (2, 2, 10) from the lowest level,
MLP ratio 4, GELU, no bias on the q / k / v projection, one learned scalar position embedding per
position of a block (shared by the channels), the aggregation block and the head above, the
patch embedding as one linear map of each flattened 7 x 7 x 3 patch (the conv here is the same
map), no dropout; Adam lr 5e-5, batch 256, 800 epochs, cross-entropy. With these sizes the model
has 139.6 M parameters, most in the 10 blocks of width 1024 (checked by a test).

A consequence of those sizes, as the released code computes them: 28 px / patch 7 gives a 4 x 4
map cut into 4 x 4 blocks, so every attention block of the first two levels holds **one** token
(an area is 2 x 2 patches, one position after the first aggregation) and the top level has one
position: self-attention reduces to a per-token linear map, and the areas interact only through
the 3 x 3 aggregation convolutions. This implementation keeps that arithmetic (other image or
patch sizes give longer blocks). The code is ours.

``out_type='map'`` returns the normalised top map (B, 4d, h, w) for a linear head (mmaction's
TSNHead with average pooling is HTNet's mean + linear). ``out_type='tokens'`` returns MER-CLIP's
visual features (F_g (B, D), area tokens (B, 4, D)): F_g the pooled top map, the area tokens the
2 x 2 map of the level where each position is one facial area, each with a learned area embedding.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS

#: the facial areas in mosaic order (row-major over the 2 x 2 grid of CropFacialAreas)
AREA_NAMES = ('left_eye', 'right_eye', 'left_lip', 'right_lip')


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a (B, C, H, W) map, per position (as HTNet's)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = x.var(1, unbiased=False, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class BlockSelfAttention(nn.Module):
    """Multi-head self-attention among the positions of each (B', C, h, w) block."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim // heads < 1:
            raise ValueError(f'HTNet: width {dim} is too small for {heads} heads')
        self.heads = heads
        self.head_dim = dim // heads  # as the authors: inner width heads * (dim // heads)
        inner = self.heads * self.head_dim
        self.qkv = nn.Conv2d(dim, 3 * inner, 1, bias=False)
        self.proj = nn.Conv2d(inner, dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        qkv = self.qkv(x).reshape(b, 3, self.heads, self.head_dim, h * w)
        q, k, v = qkv.unbind(1)  # each (B', heads, head_dim, N)
        attn = torch.einsum('bhdi,bhdj->bhij', q, k) * self.head_dim ** -0.5  # (B', heads, N, N)
        attn = self.drop(attn.softmax(-1))
        out = torch.einsum('bhij,bhdj->bhdi', attn, v)  # (B', heads, head_dim, N)
        return self.drop(self.proj(out.reshape(b, -1, h, w)))


class TransformerLevel(nn.Module):
    """The pre-norm transformer blocks of one level, applied to every block of the map."""

    def __init__(self, dim: int, depth: int, heads: int, seq_len: int, mlp_ratio: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(seq_len))  # one scalar per block position
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            mlp = nn.Sequential(
                nn.Conv2d(dim, dim * mlp_ratio, 1), nn.GELU(), nn.Dropout(dropout),
                nn.Conv2d(dim * mlp_ratio, dim, 1), nn.Dropout(dropout))
            self.blocks.append(nn.ModuleList([
                ChannelLayerNorm(dim), BlockSelfAttention(dim, heads, dropout),
                ChannelLayerNorm(dim), mlp]))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B', C, h, w) blocks -> the same shape."""
        h, w = x.shape[-2:]
        x = x + self.pos_embed[:h * w].view(1, 1, h, w)
        for norm1, attn, norm2, mlp in self.blocks:
            x = x + attn(norm1(x))
            x = x + mlp(norm2(x))
        return x


def to_blocks(x: Tensor, n: int) -> Tensor:
    """(B, C, n*h, n*w) -> (B*n*n, C, h, w): the map cut into an n x n grid of blocks."""
    b, c, hh, ww = x.shape
    x = x.view(b, c, n, hh // n, n, ww // n)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c, hh // n, ww // n)


def from_blocks(x: Tensor, n: int) -> Tensor:
    """Inverse of :func:`to_blocks`: (B*n*n, C, h, w) -> (B, C, n*h, n*w)."""
    bnn, c, h, w = x.shape
    x = x.view(bnn // (n * n), n, n, c, h, w)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(bnn // (n * n), c, n * h, n * w)


def aggregation(dim_in: int, dim_out: int) -> nn.Sequential:
    """HTNet's aggregation block between levels: (B, C, H, W) -> (B, C', ceil(H/2), ceil(W/2))."""
    return nn.Sequential(nn.Conv2d(dim_in, dim_out, 3, padding=1), ChannelLayerNorm(dim_out),
                         nn.MaxPool2d(3, stride=2, padding=1))


@MODELS.register_module()
class HTNet(BaseModule):
    """HTNet backbone (module docstring): (B, 3, 28, 28) area mosaic -> map or MER-CLIP tokens.

    Args:
        image_size: side of the (square) input mosaic, 28.
        patch_size: 7 (authors).
        dim: width of the lowest level, 256 (authors); level k from the bottom has dim * 2^k.
        heads: heads of the lowest level, 3 (authors); level k has heads * 2^k.
        num_levels: 3 (authors).
        block_repeats: transformer blocks per level from the lowest, (2, 2, 10) (authors).
        mlp_ratio: 4 (authors).
        in_channels: 3 (u, v, strain).
        dropout: 0 (authors).
        out_type: 'map' or 'tokens' (module docstring).
        token_dim: D of F_g and the area tokens (out_type='tokens').
    """

    def __init__(self,
                 image_size: int = 28,
                 patch_size: int = 7,
                 dim: int = 256,
                 heads: int = 3,
                 num_levels: int = 3,
                 block_repeats: Union[int, Sequence[int]] = (2, 2, 10),
                 mlp_ratio: int = 4,
                 in_channels: int = 3,
                 dropout: float = 0.0,
                 out_type: str = 'map',
                 token_dim: Optional[int] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if image_size % patch_size:
            raise ValueError(f'HTNet: image_size {image_size} is not a multiple of patch_size '
                             f'{patch_size}')
        repeats = ((block_repeats, ) * num_levels if isinstance(block_repeats, int)
                   else tuple(block_repeats))
        if len(repeats) != num_levels or min(repeats) < 1:
            raise ValueError(f'HTNet: block_repeats {block_repeats} must give >= 1 block for '
                             f'each of the {num_levels} levels')
        fmap = image_size // patch_size
        grid = 2 ** (num_levels - 1)  # blocks per side at the lowest level
        if fmap % grid:
            raise ValueError(f'HTNet: a {fmap} x {fmap} patch map cannot be cut into {grid} x '
                             f'{grid} blocks ({num_levels} levels); change image/patch size')
        if out_type not in ('map', 'tokens'):
            raise ValueError(f"HTNet: out_type must be 'map' or 'tokens', got {out_type!r}")
        if out_type == 'tokens' and not token_dim:
            raise ValueError("HTNet: out_type='tokens' needs token_dim")
        self.in_channels, self.out_type = in_channels, out_type
        self.image_size = image_size
        seq_len = (fmap // grid) ** 2  # positions per block, the same at every level
        widths = [dim * 2 ** k for k in range(num_levels)]
        self.patch_embed = nn.Conv2d(in_channels, widths[0], patch_size, stride=patch_size)
        self.levels = nn.ModuleList()
        self.aggregations = nn.ModuleList()
        for k in range(num_levels):
            self.levels.append(TransformerLevel(widths[k], repeats[k], heads * 2 ** k, seq_len,
                                                mlp_ratio, dropout))
            if k < num_levels - 1:
                self.aggregations.append(aggregation(widths[k], widths[k + 1]))
        self.grids = [2 ** (num_levels - 1 - k) for k in range(num_levels)]
        self.norm = ChannelLayerNorm(widths[-1])
        self.out_channels = widths[-1]
        # the map size at each level's input: halved (ceil) by every aggregation
        sizes = [fmap]
        for _ in range(num_levels - 1):
            sizes.append((sizes[-1] + 1) // 2)
        self.level_sizes = tuple(sizes)
        if out_type == 'tokens':
            if 2 not in sizes:
                raise ValueError(f'HTNet: no level has the 2 x 2 map of the four areas (map '
                                 f'sizes {sizes}); the area tokens need one')
            self.area_level = sizes.index(2)
            self.out_channels = token_dim
            self.global_proj = nn.Sequential(nn.Linear(widths[-1], token_dim),
                                             nn.LayerNorm(token_dim))
            self.area_proj = nn.Linear(widths[self.area_level], token_dim)
            self.area_embed = nn.Parameter(torch.zeros(1, len(AREA_NAMES), token_dim))
            nn.init.trunc_normal_(self.area_embed, std=0.02)
            self.area_norm = nn.LayerNorm(token_dim)

    def forward_levels(self, x: Tensor) -> List[Tensor]:
        """x: (B, C, S, S) -> each level's output map (before its aggregation)."""
        if x.dim() != 4 or x.size(1) != self.in_channels or x.shape[-2:] != (self.image_size, ) * 2:
            raise ValueError(f'HTNet expects (B, {self.in_channels}, {self.image_size}, '
                             f'{self.image_size}) area mosaics, got {tuple(x.shape)}; use '
                             'LoadMEImage + CropFacialAreas + FormatShape("NCHW")')
        x = self.patch_embed(x)  # (B, d, 4, 4)
        outs = []
        for k, level in enumerate(self.levels):
            n = self.grids[k]
            x = from_blocks(level(to_blocks(x, n)), n)  # attention inside each n x n block
            outs.append(x)
            if k < len(self.aggregations):
                x = self.aggregations[k](x)  # (B, 2C, ceil(h/2), ceil(w/2))
        return outs

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """'map': (B, 4d, h, w); 'tokens': (F_g (B, D), area tokens (B, 4, D))."""
        outs = self.forward_levels(x)
        top = self.norm(outs[-1])  # (B, 4d, 1, 1) at the published sizes
        if self.out_type == 'map':
            return top
        fused = self.global_proj(top.mean((2, 3)))  # (B, D)
        areas = outs[self.area_level].flatten(2).transpose(1, 2)  # (B, 4, C_area), mosaic order
        tokens = self.area_norm(self.area_proj(areas) + self.area_embed)  # (B, 4, D)
        return fused, tokens
