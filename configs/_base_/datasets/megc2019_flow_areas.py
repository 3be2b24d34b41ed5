# The MEGC2019 composite flow images (megc2019_flow.py) cut into HTNet's four facial areas:
# CropFacialAreas after loading (the record's landmarks5, scaled from the 224 x 224 apex image to
# the 28 x 28 flow image; a sample without landmarks5 uses HTNet's fallback points, counted in the
# run log), then the flip of the 28 x 28 mosaic, which is the mosaic of the mirrored face.
_base_ = ['./megc2019_flow.py']

crop_areas = dict(type='CropFacialAreas', area_size=14, fallback='htnet')
train_pipeline = [
    {{_base_.load_flow}},
    crop_areas,
    {{_base_.flow_flip}},
    dict(type='GenerateAUPrompt', mask_empty=True),  # after the flip, which swaps L/R AUs
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    {{_base_.load_flow}},
    crop_areas,
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
