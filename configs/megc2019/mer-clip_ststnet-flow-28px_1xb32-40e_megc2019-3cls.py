# MER-CLIP's heads on flows, MEGC2019 composite: STSTNet's streams (FeatureMapTokens: F_g + 25
# local tokens, width 64), the emotion transformer head with softmax focal loss, AU-text alignment
# with ProgressiveLossHook (contrastive weight 1.0 -> 0.5). SMIC samples have no AU labels: they get
# no prompt (GenerateAUPrompt(mask_empty=True) -> has_aus=False) and only train the classifier.
# Same data, augmentation and schedule as ststnet_flow-28px_1xb32-40e_megc2019-3cls.py. Ablations beside this file:
# mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls_linear-head.py (linear head), mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls_wo-align.py.
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/loso.py configs/megc2019/mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls.py
_base_ = [
    '../_base_/models/mer_clip_flow.py', '../_base_/datasets/megc2019_flow.py',
    '../_base_/schedules/adamw_flow_tiny.py', '../_base_/flow_runtime.py'
]

# as _base_/mer_clip_runtime.py: exact resume, NaN loss check + progressive loss weights (Eq. 14-15)
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='CheckInvalidLossHook'),
    dict(type='ProgressiveLossHook', start=1.0, end=0.5, total=1.0),
]
