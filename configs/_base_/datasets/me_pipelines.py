# Pipelines shared by the ME datasets: onset/apex/offset-preserving sampling of 16 frames from the
# aligned face crops, short side 256, centre crop 224 (paper, Sec. IV-B); for training the paper's
# augmentations (../augmentations.py) and the AU prompt for alignment.
# The pieces (load_pipeline, au_prompt, format_pipeline) are variables so that a config with other
# augmentations composes its train pipeline from them instead of editing the list.
_base_ = ['../augmentations.py']

clip_len = 16
short_side = 256
crop_size = 224
meta_keys = ('img_shape', 'sample_id', 'subject', 'au_prompt', 'au_key', 'onset_index',
             'apex_index')

load_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
]
au_prompt = dict(type='GenerateAUPrompt')
format_pipeline = [
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
train_pipeline = [*load_pipeline, *_base_.aug_pipeline, au_prompt, *format_pipeline]
test_pipeline = [*load_pipeline, *format_pipeline]
