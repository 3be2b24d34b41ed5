# DFME, 7-class, fixed splits (train / test_a / test_b; subjects do not overlap).
# Prepare the data with: python tools/data/prepare_dataset.py dfme RAW_ROOT data/dfme
# Its data paths are written here only (data/dfme, relative to the working directory: link the
# prepared folder there, or override the dataloaders' ann_file / data_prefix with --cfg-options).
_base_ = ['./me_loso.py']

data_root = 'data/dfme/frames'
ann_file = 'data/dfme/annotations.json'
class_scheme = 'dfme_7'
test_split = 'test_a'  # or 'test_b'

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=dict(**_dataset, split='train'))
val_dataloader = dict(dataset=dict(**_dataset, split=test_split))
test_dataloader = dict(dataset=dict(**_dataset, split=test_split))
