# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head).
# DFME, 7 classes: train on the train split (1,856 clips), test on test B (299).
# Same model, paths and schedule as uniformerv2_linear_dfme_test_a.py; only the task differs.
#
#   python tools/train.py configs/baselines/uniformerv2_linear_dfme_test_b.py
#   python tools/test.py configs/baselines/uniformerv2_linear_dfme_test_b.py CHECKPOINT
_base_ = ['./uniformerv2_linear_dfme_test_a.py']

test_split = 'test_b'

val_dataloader = dict(dataset=dict(split=test_split))
test_dataloader = dict(dataset=dict(split=test_split))
