# The paper's schedule: AdamW (lr 5e-5, wd 0.05), 5 linear warm-up epochs from 0.1x, cosine to
# epoch 55 (eta_min = 0.1 x lr, authors' config), gradient clipping at norm 20.
max_epochs = 55
warmup_epochs = 5
base_lr = 5e-5

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=20, norm_type=2))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
]

# Paper: batch 8 per GPU on 2 GPUs. `--auto-scale-lr` rescales lr for other total batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=16)
