# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head).
# DFME, 7 classes: train on the train split (1,856 clips), test on test B (299).
# Same model, paths, schedule and augmentations as
# linear-head_uniformerv2-b16_2xb8-55e_dfme-7cls-test-a.py; only the task differs.
# augmentations: augmix, color_jitter, flip, lsfm
#
#   python tools/train.py configs/baselines/linear-head_uniformerv2-b16_2xb8-55e_dfme-7cls-test-b.py
#   python tools/test.py \
#       configs/baselines/linear-head_uniformerv2-b16_2xb8-55e_dfme-7cls-test-b.py CHECKPOINT
_base_ = ['./linear-head_uniformerv2-b16_2xb8-55e_dfme-7cls-test-a.py']

test_split = 'test_b'

val_dataloader = dict(dataset=dict(split=test_split))
test_dataloader = dict(dataset=dict(split=test_split))
