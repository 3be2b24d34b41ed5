# The paper's augmentations (Sec. IV-B, Table IX), each applied with probability 0.5:
#   clip-consistent AugMix (magnitude / severity 1), colour jitter and horizontal flip in the data
#   pipeline, LocalStaticFaceMix (Eq. 1, lambda 0.5, four facial regions) in the data preprocessor.
# Every transform draws one decision and one set of parameters per clip and applies it to all frames
# (per-frame draws would inject fake motion).
#
# Where they are applied (the one place each):
#   aug_pipeline: the train pipeline of every ME dataset (datasets/me_pipelines.py, and with the
#     synthetic set's own sizes datasets/synthetic.py), between the centre crop and GenerateAUPrompt
#     (MEFlip swaps L/R of the AUs the prompt names, so it must come first);
#   aug_lsfm: a model's data preprocessor acts on the batch, which a dataset base cannot reach
#     (mmengine forbids two sibling bases to set `model`), so each task config sets
#       model = dict(data_preprocessor=dict(blending=_base_.aug_lsfm))
# Every config states what it trains with in a header line `# augmentations: ...`, which
# tests/configs/test_config_augmentations.py checks against the resolved config. An ablation that
# drops some of them composes its train pipeline from the pieces (load_pipeline, aug_*, au_prompt,
# format_pipeline) and is named for what it drops (`_no-augmix`, `_no-lsfm`, ...).
aug_augmix = dict(type='VideoAugMix', prob=0.5, severity=1, width=3, depth=-1, alpha=1.0)
# mmaction's ColorJitter ranges (the paper gives none); VideoColorJitter keeps them clip-consistent.
aug_color_jitter = dict(type='VideoColorJitter', prob=0.5, brightness=0.5, contrast=0.5,
                        saturation=0.5, hue=0.1)
aug_flip = dict(type='MEFlip', flip_ratio=0.5)
aug_lsfm = dict(type='LocalStaticFaceMix', prob=0.5, lam=0.5)

# The paper's pipeline segment, in order (geometry-free colour ops before the flip).
aug_pipeline = [aug_augmix, aug_color_jitter, aug_flip]
