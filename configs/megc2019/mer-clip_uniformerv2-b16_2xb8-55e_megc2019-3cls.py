# MER-CLIP: UniFormerV2-B/16 + AU-text alignment + emotion transformer head, on the MEGC2019
# composite (SMIC-HS + CASME II + SAMM, 3 classes, 442 clips, 68 subjects). SMIC has no AU codes:
# its clips train the emotion head only (no AU prompt, left out of the alignment).
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU, bf16 mixed precision (GPU only).
# The paper's augmentations (_base_/augmentations.py): AugMix, colour jitter and flip in the train
# pipeline (from the dataset base), LocalStaticFaceMix in the data preprocessor (set here).
# augmentations: augmix, color_jitter, flip, lsfm
#
#   python tools/data/build_megc2019.py combined_3_class_gt.csv data/megc2019/annotations.json \
#       --smic data/smic/annotations.json --casme2 data/casme2/annotations.json \
#       --samm data/samm/annotations.json
#   python tools/loso.py configs/megc2019/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls.py
#   python tools/loso.py configs/megc2019/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls.py \
#       --protocol lodo                              # leave one dataset out (3 folds)
# Reports: UF1 / UAR / ACC of the composite and of SMIC, CASME II and SAMM (the MEGC2019 table).
# Data paths: _base_/datasets/megc2019_composite.py; weight files: _base_/models/.
_base_ = [
    '../_base_/models/mer_clip_uniformerv2_b16.py', '../_base_/datasets/megc2019_composite.py',
    '../_base_/amp_bf16.py', '../_base_/mer_clip_runtime.py'
]

model = dict(cls_head=dict(num_classes=3), data_preprocessor=dict(blending=_base_.aug_lsfm))
