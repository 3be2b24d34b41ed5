# MEGC2019 composite: SMIC-HS + CASME II + SAMM, 3 classes (negative / positive / surprise; 442
# clips: 250 / 109 / 83; SMIC 164, CASME II 145, SAMM 133), 68 subjects namespaced by dataset
# (smic_s01, casme2_sub01, samm_006). LOSO over the 68 subjects is the MEGC2019 protocol;
# `tools/loso.py CONFIG --protocol lodo` holds out one dataset at a time instead. Reports give the
# pooled metrics of the composite and of each source dataset.
# Build the annotation: prepare the three datasets, then tools/data/build_megc2019.py
# (docs/prepare_data.md); frame_dir are relative to data/megc2019.
# Its data paths are written here only.
_base_ = ['./me_loso.py']

data_root = 'data/megc2019'
ann_file = 'data/megc2019/annotations.json'
class_scheme = 'megc2019_3'

# SMIC codes no AUs: GenerateAUPrompt(mask_empty=True) gives its clips no prompt and has_aus=False,
# so MER-CLIP leaves them out of the AU-text alignment (they keep the classification loss); CASME II
# and SAMM clips are aligned as usual.
meta_keys = (*_base_.meta_keys, 'has_aus')
format_pipeline = [
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
au_prompt = dict(type='GenerateAUPrompt', mask_empty=True)
train_pipeline = [*_base_.load_pipeline, *_base_.aug_pipeline, au_prompt, *format_pipeline]

_dataset = dict(ann_file=ann_file, data_prefix=dict(img=data_root), class_scheme=class_scheme)
train_dataloader = dict(dataset=dict(**_dataset, pipeline=train_pipeline))
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
