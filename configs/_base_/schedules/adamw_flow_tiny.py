# Schedule of the tiny flow models (STSTNet, OFF-ApexNet, MER-CLIP heads on STSTNet) on the ~440
# samples of the MEGC2019 composite, CPU: AdamW (lr 1e-3, weight decay 0.01, no decay on norms and
# biases), 1 warm-up epoch from 0.1 x lr, cosine to 0.1 x lr at epoch 40, batch 32 (dataset
# config). From-scratch models of 1.7 k - 2.7 M parameters: a far larger lr and far fewer epochs
# than STSTNet's authors (Adam 5e-5, 800 epochs). A starting point, not tuned: only checked on a
# split of the composite by subject that the baselines learn with it (docs/experiments.md, "Flow
# models"); settings to report must be chosen within each fold's training subjects. The held-out
# subject is evaluated once, at the last epoch (the checkpoint a LOSO fold reports;
# flow_runtime.py writes only that one).
max_epochs = 40
warmup_epochs = 1
base_lr = 1e-3

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]

