# The paper's augmentations (Sec. IV-B, Table IX), each applied with probability 0.5:
#   clip-consistent AugMix (magnitude / severity 1), colour jitter and horizontal flip in the data
#   pipeline, LocalStaticFaceMix (Eq. 1, lambda 0.5, four facial regions) in the data preprocessor.
# Every transform draws one decision and one set of parameters per clip and applies it to all frames
# (per-frame draws would inject fake motion). Use them as
#   _base_ = [..., '../_base_/augmentations.py']
#   train_pipeline: [..., CenterCrop, *aug_pipeline, GenerateAUPrompt, FormatShape, ...]
#   model = dict(data_preprocessor=dict(blending=aug_lsfm))
# MEFlip must come before GenerateAUPrompt (it swaps L/R of the AUs that the prompt names).
aug_augmix = dict(type='VideoAugMix', prob=0.5, severity=1, width=3, depth=-1, alpha=1.0)
# mmaction's ColorJitter ranges (the paper gives none); VideoColorJitter keeps them clip-consistent.
aug_color_jitter = dict(type='VideoColorJitter', prob=0.5, brightness=0.5, contrast=0.5,
                        saturation=0.5, hue=0.1)
aug_flip = dict(type='MEFlip', flip_ratio=0.5)
aug_lsfm = dict(type='LocalStaticFaceMix', prob=0.5, lam=0.5)

# The full paper pipeline segment, in order (geometry-free colour ops before the flip).
aug_pipeline = [aug_augmix, aug_color_jitter, aug_flip]
# Types the ablation configs strip from a base pipeline before inserting their own selection.
aug_types = ('VideoAugMix', 'VideoColorJitter', 'ColorJitter', 'MEFlip', 'Flip')
