# CAS(ME)^3 part A (100 subjects), 7-class task; casme3_4 / casme3_3 for the others.
# Prepare the data with: python tools/data/prepare_dataset.py casme3 RAW_ROOT data/casme3
# Its data paths are written here only (data/casme3, relative to the working directory: link the
# prepared folder there, or override the dataloaders' ann_file / data_prefix with --cfg-options).
_base_ = ['./me_loso.py']

data_root = 'data/casme3/frames'
ann_file = 'data/casme3/annotations.json'
class_scheme = 'casme3_7'

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
