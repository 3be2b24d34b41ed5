# The MEGC2019 composite (SMIC-HS + CASME II + SAMM: 442 samples, 68 subjects; classes negative,
# positive, surprise) as onset-to-apex optical-flow images: 28 x 28, channels u, v, optical strain,
# each min-max normalised to 0..255 per image (the HTNet authors' published derived images, or
# tools/data/compute_flow.py on prepared clips). LOSO over the subjects: `--loso-subject ...` or
# tools/loso.py. Records carry `flow_image` (and `apex_image`) relative to data_root.
#
# Loading: LoadMEImage reads the PNG (RGB = u, v, strain), checks its size and maps it to [-1, 1];
# a horizontal flip then negates u exactly (docs/design.md, "Image modality"). Batches are
# (N, 1, 3, 28, 28): FormatShape('NCHW'), a Recognizer2D-style layout.
dataset_type = 'MicroExpressionDataset'
# The images are the published crops, not ours: their framing differs per source dataset (presets
# megc2019_casme2 / megc2019_smic / megc2019_samm in mer_clip/preprocessing/framing.py; prepare
# clips with one of them to compute flow images that match).
framing = 'megc2019_released'
data_root = 'data/megc2019_htnet'
ann_file = 'data/megc2019_htnet/annotations.json'
class_scheme = 'megc2019_3'
loso_subject = None
batch_size = 32
num_workers = 0  # 28 x 28 PNGs decode in microseconds: worker processes cost more than they save
flow_size = 28
meta_keys = ('img_shape', 'sample_id', 'subject', 'dataset', 'au_prompt', 'au_key', 'has_aus')

# cache: each 28 x 28 PNG is decoded once per process (0.7 MB for all 442), not once per epoch
load_flow = dict(type='LoadMEImage', modality='flow', flow_channels=('u', 'v', 'strain'),
                 flow_values='unit', flow_size=flow_size, cache=True)
# the flow augmentations; configs list what they use in their header ("Augmentations: ...")
flow_flip = dict(type='MEFlip', flip_ratio=0.5)  # mirror, u -> -u, L/R AUs swapped
# The AU prompt is read by MER-CLIP's alignment only; every flow config renders it (samples without
# AUs, SMIC, get none: mask_empty) so that all of them draw the same random numbers per sample.
train_pipeline = [
    load_flow,
    flow_flip,
    dict(type='GenerateAUPrompt', mask_empty=True),  # after the flip, which swaps L/R AUs
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    load_flow,
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]

_dataset = dict(type=dataset_type, ann_file=ann_file, data_prefix=dict(img=data_root),
                class_scheme=class_scheme, loso_subject=loso_subject, framing=framing)
train_dataloader = dict(
    batch_size=batch_size, num_workers=num_workers, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, num_workers=num_workers, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, split='test', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='MERMetric')
test_evaluator = val_evaluator
