# The synthetic micro-expression set (tools/data/make_synthetic.py): small rendered faces, 3 classes
# (negative / positive / surprise), LOSO over its subjects. The embedded default of demos and tests.
# Training uses the paper's augmentations (clip-consistent AugMix, colour jitter, flip with AU side
# swap; LocalStaticFaceMix sits in the model's data preprocessor).
_base_ = ['./me_loso.py', '../augmentations.py']

data_root = 'data/synthetic/frames'
ann_file = 'data/synthetic/annotations.json'
class_scheme = 'synthetic_3'
clip_len = 8
short_side = 40
crop_size = 32
batch_size = 8
num_workers = 2

train_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    *_base_.aug_pipeline,
    dict(type='GenerateAUPrompt'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys={{_base_.meta_keys}}),
]
_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(batch_size=batch_size, num_workers=num_workers,
                        dataset=dict(**_dataset, pipeline=train_pipeline))
val_dataloader = dict(batch_size=batch_size, num_workers=num_workers,
                      dataset=dict(**_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
