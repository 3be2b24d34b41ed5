# MER-CLIP's heads on a flow backbone: the tiny MER-CLIP (mer_clip_tiny.py: emotion transformer
# head with softmax focal loss, AU-text alignment with the frozen tiny CLIP text tower, loss
# weights) with its video encoder replaced by STSTNet on 28 x 28 u / v / strain images.
# FeatureMapTokens turns STSTNet's (B, 16, 5, 5) map into F_g (a linear map of the whole flattened
# layout, as STSTNet's own dense layer reads it) and 25 position-embedded local tokens, both of
# width 64 (the heads' input width in mer_clip_tiny.py).
_base_ = ['./mer_clip_tiny.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='FeatureMapTokens',
        backbone=dict(type='STSTNet', in_channels=3, stream_channels=(3, 5, 8), dropout=0.5),
        embed_dim={{_base_.visual_dim}},
        input_size=(28, 28),
        in_channels=3),
    data_preprocessor=dict(_delete_=True, type='NoCopyActionDataPreprocessor',
                           format_shape='NCHW'))
