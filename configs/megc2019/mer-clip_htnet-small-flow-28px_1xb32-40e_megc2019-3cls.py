# MER-CLIP's heads on htnet-small's area tokens, MEGC2019 composite: HTNet's F_g and its four
# facial-area tokens (width 64), the emotion transformer head with softmax focal loss, AU-text
# alignment with ProgressiveLossHook (contrastive weight 1.0 -> 0.5). SMIC samples have no AU
# labels: they get no prompt (GenerateAUPrompt(mask_empty=True) -> has_aus=False) and only train
# the classifier. htnet-small: NOT the published HTNet (same structure, dim 32, blocks (1, 1, 2),
# 0.56 M parameters).
# Same data, areas, augmentation and schedule as htnet-small_flow-28px_1xb32-40e_megc2019-3cls.py.
# Ablations beside this file: mer-clip_htnet-small-flow-28px_1xb32-40e_megc2019-3cls_linear-head.py
# (linear head),
# mer-clip_htnet-small-flow-28px_1xb32-40e_megc2019-3cls_wo-align.py (no AU-text alignment).
# augmentations: flip (flow images: AugMix, colour jitter and LocalStaticFaceMix act on RGB frames)
#
#   python tools/loso.py configs/megc2019/mer-clip_htnet-small-flow-28px_1xb32-40e_megc2019-3cls.py
# --seed 0 \
#       --fold-cfg-options configs/megc2019/flow_schedules_selected.json
_base_ = [
    '../_base_/models/mer_clip_htnet_small_flow.py', '../_base_/datasets/megc2019_flow_areas.py',
    '../_base_/schedules/adamw_flow_tiny.py', '../_base_/flow_runtime.py'
]

# as _base_/mer_clip_runtime.py: exact resume, NaN loss check + progressive loss weights (Eq. 14-15)
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='CheckInvalidLossHook'),
    dict(type='ProgressiveLossHook', start=1.0, end=0.5, total=1.0),
]
