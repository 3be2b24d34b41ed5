# htnet-small: NOT the published HTNet. The same structure (four facial areas, 3 levels of local
# self-attention, aggregation blocks, HTNet's head) with less width and depth, so that a 68-fold
# LOSO fits a CPU: dim 32, 2 heads (head width 16), blocks (1, 1, 2); 0.56 M parameters (0.4 % of
# the published 139.6 M). Its size and per-fold cost: docs/speed.md.
_base_ = ['./htnet_flow.py']

htnet = dict(type='HTNet', image_size=28, patch_size=7, dim=32, heads=2, num_levels=3,
             block_repeats=(1, 1, 2), mlp_ratio=4, in_channels=3, dropout=0.0)
model = dict(backbone=dict(_delete_=True, **htnet), cls_head=dict(in_channels=128))
