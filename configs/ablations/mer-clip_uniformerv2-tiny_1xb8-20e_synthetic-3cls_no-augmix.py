# Table IX ablation on the synthetic set, row "+LSFM": the paper's setting without AugMix.
# Colour jitter and horizontal flip (p = 0.5) are on in every row; the rows switch clip-consistent
# AugMix (pipeline) and LocalStaticFaceMix (data preprocessor). The rows: this file, _no-lsfm,
# _no-augmix-lsfm, and the paper's setting
# configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py.
# augmentations: color_jitter, flip, lsfm
_base_ = ['../mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py']

train_pipeline = [
    *_base_.load_pipeline, _base_.aug_color_jitter, _base_.aug_flip, _base_.au_prompt,
    *_base_.format_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
