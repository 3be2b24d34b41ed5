# Table IX ablation on the synthetic set, row "none (baseline)".
# Colour jitter and horizontal flip (p = 0.5) are on in every row; the rows switch clip-consistent
# AugMix (pipeline) and LocalStaticFaceMix (data preprocessor). Rows: aug_{none,lsfm,augmix,both}.
_base_ = ['../mer_clip_synthetic.py']

# the base train pipeline without any augmentation, then this row's ones before the AU prompt
# (MEFlip must precede GenerateAUPrompt: it swaps the AU sides the prompt names)
_pipeline = [t for t in _base_.train_dataloader.dataset.pipeline if t.type not in _base_.aug_types]
_at = [t.type for t in _pipeline].index('GenerateAUPrompt')
train_pipeline = _pipeline[:_at] + (
    [_base_.aug_color_jitter, _base_.aug_flip]) + _pipeline[_at:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(data_preprocessor=dict(blending=None))
del _pipeline, _at
