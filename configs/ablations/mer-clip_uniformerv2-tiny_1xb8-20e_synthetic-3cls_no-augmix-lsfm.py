# Table IX ablation on the synthetic set, row "none (baseline)": the paper's setting without AugMix
# and LocalStaticFaceMix. Colour jitter and horizontal flip (p = 0.5) are on in every row; the
# rows switch clip-consistent AugMix (pipeline) and LocalStaticFaceMix (data preprocessor). The
# rows: this file, _no-augmix, _no-lsfm, and the paper's setting
# configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py.
# augmentations: color_jitter, flip
_base_ = ['./mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls_no-augmix.py']

model = dict(data_preprocessor=dict(blending=None))
