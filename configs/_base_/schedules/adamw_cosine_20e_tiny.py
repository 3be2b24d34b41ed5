# The paper's schedule shape for a from-scratch tiny model (the synthetic configs): a larger learning
# rate and fewer epochs than the paper's fine-tuning (5e-5, 55 epochs); linear warm-up then cosine.
_base_ = ['./adamw_cosine_55e.py']

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
