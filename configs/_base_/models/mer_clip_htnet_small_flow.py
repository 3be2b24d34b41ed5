# MER-CLIP's heads on htnet-small's area tokens (NOT the published HTNet: htnet_small_flow.py).
_base_ = ['./mer_clip_htnet_flow.py']

htnet = dict(type='HTNet', image_size=28, patch_size=7, dim=32, heads=2, num_levels=3,
             block_repeats=(1, 1, 2), mlp_ratio=4, in_channels=3, dropout=0.0)
model = dict(
    backbone=dict(_delete_=True, out_type='tokens', token_dim={{_base_.visual_dim}}, **htnet))
