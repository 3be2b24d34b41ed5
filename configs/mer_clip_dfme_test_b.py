# MER-CLIP: UniFormerV2-B/16 + AU-text alignment + emotion transformer head.
# DFME, 7 classes: train on the train split (1,856 clips), test on test B (299).
# Same model, paths and schedule as mer_clip_dfme_test_a.py; only the task differs.
#
#   python tools/train.py configs/mer_clip_dfme_test_b.py
#   python tools/test.py configs/mer_clip_dfme_test_b.py CHECKPOINT
_base_ = ['./mer_clip_dfme_test_a.py']

test_split = 'test_b'

val_dataloader = dict(dataset=dict(split=test_split))
test_dataloader = dict(dataset=dict(split=test_split))
