# MER-CLIP, tiny, on the synthetic micro-expression set: the README's main job. The structure of the
# paper's model (UniFormerV2 local/global UniBlocks, Eq. 3 fusion, emotion transformer head, focal
# loss, AU-text alignment, progressive loss weights) at width 64 on 8 frames of 32 px, random init;
# trains in minutes on a CPU.
#
#   python tools/data/make_synthetic.py --out data/synthetic
#   python tools/train.py configs/mer_clip_synthetic.py --loso-subject s01
#   tools/dist_train.sh configs/mer_clip_synthetic.py 2 --loso-subject s01
_base_ = [
    './_base_/models/mer_clip_tiny.py', './_base_/datasets/synthetic.py',
    './_base_/schedules/adamw_cosine_55e.py', './_base_/default_runtime.py'
]

# A from-scratch tiny model needs a larger learning rate and fewer epochs than the paper's
# fine-tuning schedule (5e-5, 55 epochs); warm-up then cosine as in the paper.
max_epochs = 20
warmup_epochs = 2
base_lr = 1e-3

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]

# Progressive training (Eq. 14-15): contrastive weight 1.0 -> 0.5, classification weight 1 - w.
# RNGStateHook repeats the runtime's entry (a list in a child config replaces the base list).
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='ProgressiveLossHook', start=1.0, end=0.5, total=1.0),
]
