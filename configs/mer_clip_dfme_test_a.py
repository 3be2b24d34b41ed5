# MER-CLIP: UniFormerV2-B/16 + AU-text alignment + emotion transformer head.
# DFME, 7 classes: train on the train split (1,856 clips), test on test A (474).
# The paper's schedule: AdamW lr 5e-5, weight decay 0.05, 5 warm-up epochs, cosine to epoch 55; 16
# frames, 224 crop, batch 8 per GPU (x 2 GPUs in the paper).
#
# Run:
#   python tools/train.py configs/mer_clip_dfme_test_a.py
#   python tools/test.py configs/mer_clip_dfme_test_a.py CHECKPOINT
# Trains in bf16 mixed precision (_base_/amp_bf16.py: the paper schedule + AmpOptimWrapper; GPU
# only, see docs/speed.md).
_base_ = [
    './_base_/models/mer_clip_uniformerv2_b16.py', './_base_/datasets/dfme.py',
    './_base_/amp_bf16.py', './_base_/mer_clip_runtime.py'
]

# -------------------------------------------------------------------------------------------------
# Paths: the prepared data, and the weight files (local only, nothing is downloaded; where to get
# them: configs/_base_/models/uniformerv2_b16.py; None = random initialisation).
# -------------------------------------------------------------------------------------------------
data_root = 'data/dfme/frames'
ann_file = 'data/dfme/annotations.json'
uniformerv2_ssv2_ckpt = 'checkpoints/uniformerv2_b16_sthv2_u16.pth'
clip_vit_b16_ckpt = None
clip_text_ckpt = 'checkpoints/clip_vit_b16_openai.pt'

class_scheme = 'dfme_7'
num_classes = 7
test_split = 'test_a'

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=dict(**_dataset, split='train'))
val_dataloader = dict(dataset=dict(**_dataset, split=test_split))
test_dataloader = dict(dataset=dict(**_dataset, split=test_split))

model = dict(
    backbone=dict(pretrained=uniformerv2_ssv2_ckpt, clip_pretrained=clip_vit_b16_ckpt),
    cls_head=dict(num_classes=num_classes),
    text_encoder=dict(pretrained=clip_text_ckpt))
