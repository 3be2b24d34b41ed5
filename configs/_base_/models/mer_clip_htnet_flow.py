# MER-CLIP's heads on HTNet's area tokens: the tiny MER-CLIP (mer_clip_tiny.py: emotion
# transformer head with softmax focal loss, AU-text alignment with the frozen tiny CLIP text tower,
# loss weights) with its video encoder replaced by HTNet on the 2 x 2 facial-area mosaic. HTNet
# returns F_g (its pooled top map) and the four area tokens (its 2 x 2 level, one position per
# facial area, with a learned area embedding), both projected to width 64 (out_type='tokens').
# Published size (htnet_flow.py) here; mer_clip_htnet_small_flow.py swaps in htnet-small.
_base_ = ['./mer_clip_tiny.py']

htnet = dict(type='HTNet', image_size=28, patch_size=7, dim=256, heads=3, num_levels=3,
             block_repeats=(2, 2, 10), mlp_ratio=4, in_channels=3, dropout=0.0)
model = dict(
    backbone=dict(_delete_=True, out_type='tokens', token_dim={{_base_.visual_dim}}, **htnet),
    data_preprocessor=dict(_delete_=True, type='NoCopyActionDataPreprocessor',
                           format_shape='NCHW'))
