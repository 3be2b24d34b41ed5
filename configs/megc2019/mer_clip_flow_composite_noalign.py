# Ablation of mer_clip_flow_composite.py: no AU-text alignment (no text encoder, no contrastive
# loss, no progressive weights); the emotion transformer head, data, augmentation (the pipeline
# still renders the prompts, so the random stream of the flips is the same) and schedule unchanged.
# Augmentations: MEFlip(flip_ratio=0.5)
_base_ = ['./mer_clip_flow_composite.py']

model = dict(text_encoder=None, align_head=None)
custom_hooks = [dict(type='RNGStateHook')]
