# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head), on the MEGC2019
# composite (SMIC-HS + CASME II + SAMM, 3 classes, 442 clips, 68 subjects), LOSO.
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU.
#
#   python tools/loso.py configs/megc2019/uniformerv2_linear_megc2019.py                  # 68 folds
#   python tools/loso.py configs/megc2019/uniformerv2_linear_megc2019.py --protocol lodo  # 3 folds
#   python tools/compare_runs.py work_dirs/uniformerv2_linear_megc2019_loso \
#       work_dirs/mer_clip_megc2019_loso          # composite and per-dataset deltas
_base_ = [
    '../_base_/models/uniformerv2_b16_linear.py', '../_base_/datasets/megc2019_composite.py',
    '../_base_/amp_bf16.py', '../_base_/default_runtime.py'
]

# -------------------------------------------------------------------------------------------------
# Paths: the composite annotation and its frames root, and the weight files (local only).
# -------------------------------------------------------------------------------------------------
data_root = 'data/megc2019'
ann_file = 'data/megc2019/annotations.json'
uniformerv2_ssv2_ckpt = 'checkpoints/uniformerv2_b16_sthv2_u16.pth'
clip_vit_b16_ckpt = None

class_scheme = 'megc2019_3'
num_classes = 3

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)

model = dict(
    backbone=dict(pretrained=uniformerv2_ssv2_ckpt, clip_pretrained=clip_vit_b16_ckpt),
    cls_head=dict(num_classes=num_classes))
