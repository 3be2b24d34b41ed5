# The HTNet authors' schedule (released main_HTNet.py): Adam, lr 5e-5, no weight decay, constant
# lr, 800 epochs; their batch, 256, is set by the configs (their DataLoader does not shuffle; ours
# does). Their script keeps, for
# each test subject, the epoch with the best accuracy on that subject: that is the leaky
# --select-on-test-fold-UNSAFE mode of tools/loso.py, not what a fold reports by default (the last
# epoch, tested once: val_interval = max_epochs).
max_epochs = 800
base_lr = 5e-5

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=base_lr, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = []

