# Baseline: plain UniFormerV2-B/16 + linear head (no text, no transformer head).
# SAMM, 3 classes (negative, positive, surprise; 133 clips), LOSO.
# Same model, paths and schedule as uniformerv2_linear_samm.py; only the task differs.
#
#   python tools/loso.py configs/baselines/uniformerv2_linear_samm_3cls.py
#   python tools/train.py configs/baselines/uniformerv2_linear_samm_3cls.py --loso-subject SUBJECT
_base_ = ['./uniformerv2_linear_samm.py']

class_scheme = 'samm_3'
num_classes = 3

_dataset = dict(class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(cls_head=dict(num_classes=num_classes))
