# Pipelines shared by the ME datasets: onset/apex/offset-preserving sampling of 16 frames from the
# aligned face crops, short side 256, centre crop 224 (paper, Sec. IV-B), AU prompt for alignment.
clip_len = 16
short_side = 256
crop_size = 224
meta_keys = ('img_shape', 'sample_id', 'subject', 'au_prompt', 'au_key', 'onset_index',
             'apex_index')

train_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='GenerateAUPrompt'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='MESampleFrames', clip_len=clip_len),
    dict(type='LoadMEFrames'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
