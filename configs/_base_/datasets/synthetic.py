# The synthetic micro-expression set (tools/data/make_synthetic.py): small rendered faces, 3 classes
# (negative / positive / surprise), LOSO over its subjects. The embedded default of demos and tests.
# The tiny model's input (8 frames, 32 px crop of 40 px frames) replaces the paper's 16 x 224; the
# train pipeline keeps the paper's augmentations (../augmentations.py) in the same place.
_base_ = ['./me_loso.py']

data_root = 'data/synthetic/frames'
ann_file = 'data/synthetic/annotations.json'
class_scheme = 'synthetic_3'
clip_len = 8
short_side = 40
crop_size = 32
batch_size = 8
num_workers = 2

load_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
]
train_pipeline = [*load_pipeline, *_base_.aug_pipeline, _base_.au_prompt, *_base_.format_pipeline]
test_pipeline = [*load_pipeline, *_base_.format_pipeline]
_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(batch_size=batch_size, num_workers=num_workers,
                        dataset=dict(**_dataset, pipeline=train_pipeline))
val_dataloader = dict(batch_size=batch_size, num_workers=num_workers,
                      dataset=dict(**_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
