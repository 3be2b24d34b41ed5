# MER-CLIP: UniFormerV2-B/16 + AU-text alignment + emotion transformer head, on the MEGC2019
# composite (SMIC-HS + CASME II + SAMM, 3 classes, 442 clips, 68 subjects). SMIC has no AU codes:
# its clips train the emotion head only (empty AU prompt, left out of the alignment).
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU.
#
#   python tools/data/build_megc2019.py combined_3_class_gt.csv data/megc2019/annotations.json \
#       --smic data/smic/annotations.json --casme2 data/casme2/annotations.json \
#       --samm data/samm/annotations.json
#   python tools/loso.py configs/megc2019/mer_clip_megc2019.py                  # 68 LOSO folds
#   python tools/loso.py configs/megc2019/mer_clip_megc2019.py --protocol lodo  # 1 dataset out
#   python tools/train.py configs/megc2019/mer_clip_megc2019.py --loso-subject casme2_sub01
# Reports: UF1 / UAR / ACC of the composite and of SMIC, CASME II and SAMM (the MEGC2019 table).
_base_ = [
    '../_base_/models/mer_clip_uniformerv2_b16.py', '../_base_/datasets/megc2019_composite.py',
    '../_base_/amp_bf16.py', '../_base_/mer_clip_runtime.py'
]

# -------------------------------------------------------------------------------------------------
# Paths: the composite annotation and its frames root, and the weight files (local only, nothing is
# downloaded; where to get them: configs/_base_/models/uniformerv2_b16.py; None = random init).
# -------------------------------------------------------------------------------------------------
data_root = 'data/megc2019'
ann_file = 'data/megc2019/annotations.json'
uniformerv2_ssv2_ckpt = 'checkpoints/uniformerv2_b16_sthv2_u16.pth'
clip_vit_b16_ckpt = None
clip_text_ckpt = 'checkpoints/clip_vit_b16_openai.pt'

class_scheme = 'megc2019_3'
num_classes = 3

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)

model = dict(
    backbone=dict(pretrained=uniformerv2_ssv2_ckpt, clip_pretrained=clip_vit_b16_ckpt),
    cls_head=dict(num_classes=num_classes),
    text_encoder=dict(pretrained=clip_text_ckpt))
