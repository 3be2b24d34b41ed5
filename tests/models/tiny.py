"""Tiny model configs shared by the model tests."""
from typing import Sequence


def tiny_uniformerv2_cfg(frames: int = 8, size: int = 32, width: int = 64,
                         layers: int = 4, heads: int = 2, patch: int = 8,
                         return_list: Sequence[int] = (2, 3), **overrides) -> dict:
    """Config of a tiny MERUniFormerV2 (the structure of B/16 at width 64, 8 frames of 32 px; as
    configs/_base_/models/uniformerv2_tiny.py) for model tests."""
    cfg = dict(type='MERUniFormerV2', input_resolution=size, patch_size=patch, width=width,
               layers=layers, heads=heads, t_size=frames, temporal_downsample=True,
               dw_reduction=1.5, no_lmhra=False, double_lmhra=True,
               return_list=list(return_list), n_layers=len(return_list), n_dim=width,
               n_head=heads, mlp_factor=4.0, mlp_dropout=[0.5] * len(return_list),
               backbone_drop_path_rate=0.0, drop_path_rate=0.0)
    cfg.update(overrides)
    return cfg
