# MER-CLIP: UniFormerV2-B/16 + AU-text alignment + emotion transformer head.
# CASME II, 3 classes (negative, positive, surprise; 156 clips), LOSO.
# Same model, paths and schedule as mer_clip_casme2_5cls.py; only the task differs.
#
#   python tools/loso.py configs/mer_clip_casme2_3cls.py
#   python tools/train.py configs/mer_clip_casme2_3cls.py --loso-subject SUBJECT
_base_ = ['./mer_clip_casme2_5cls.py']

class_scheme = 'casme2_3'
num_classes = 3

_dataset = dict(class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(cls_head=dict(num_classes=num_classes))
