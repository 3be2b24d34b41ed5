# Ablation of mer-clip_htnet-small-flow-28px_1xb32-40e_megc2019-3cls.py: no AU-text alignment (no
# text
# encoder, no contrastive loss, no progressive weights); the emotion transformer head, data, areas,
# augmentation (the pipeline still renders the prompts, so the random stream of the flips is the
# same) and schedule unchanged.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
_base_ = ['./mer-clip_htnet-small-flow-28px_1xb32-40e_megc2019-3cls.py']

model = dict(text_encoder=None, align_head=None)
custom_hooks = [dict(type='RNGStateHook'), dict(type='CheckInvalidLossHook')]
