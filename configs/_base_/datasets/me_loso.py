# A Leave-One-Subject-Out ME dataset: the dataloaders of MicroExpressionDataset with the pipelines
# of me_pipelines.py. The dataset files beside this one (samm.py, casme2.py, ...) add the data paths
# and the class scheme; the fold is chosen at run time (`tools/train.py --loso-subject 006`, or
# `tools/loso.py` for every fold). Validation runs on the held-out subject for monitoring only: the
# reported checkpoint is the last epoch, never one selected on the test subject.
_base_ = ['./me_pipelines.py']

dataset_type = 'MicroExpressionDataset'
# The face framing the clips are expected to be prepared with (prepare_dataset.py --framing, the
# same name in the annotation's metainfo.prepared.framing; presets in
# mer_clip/preprocessing/framing.py, docs/prepare_data.md): eyes 72 px apart at y = 0.38 of 224.
# The dataset compares the two when it loads (a mismatch is an error); --cfg-options framing=NAME
# changes it for every dataloader.
framing = 'mer_clip'
loso_subject = None
batch_size = 8
num_workers = 4

_dataset = dict(type=dataset_type, loso_subject=loso_subject, framing=framing)
train_dataloader = dict(
    batch_size=batch_size, num_workers=num_workers, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_dataset, split='train', pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=batch_size, num_workers=num_workers, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, split='test', test_mode=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

val_evaluator = dict(type='MERMetric')
test_evaluator = val_evaluator
