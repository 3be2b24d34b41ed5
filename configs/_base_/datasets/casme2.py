# CASME II (26 subjects), 5-class task; casme2_3 for the 3-class task.
# Prepare the data with: python tools/data/prepare_dataset.py casme2 RAW_ROOT data/casme2
# Its data paths are written here only (data/casme2, relative to the working directory: link the
# prepared folder there, or override the dataloaders' ann_file / data_prefix with --cfg-options).
_base_ = ['./me_loso.py']

data_root = 'data/casme2/frames'
ann_file = 'data/casme2/annotations.json'
class_scheme = 'casme2_5'

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
