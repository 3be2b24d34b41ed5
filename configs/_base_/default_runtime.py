# Runtime shared by every MER config: registries, hooks, logging, seeding, DDP backend.
default_scope = 'mmaction'
custom_imports = dict(imports=['mer_clip'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # The last epoch is what a LOSO fold reports: no checkpoint selection on the test subject.
    # max_keep_ckpts=2: mmengine deletes the oldest checkpoint *before* writing the new one, so with 1
    # a run killed while saving is left with no checkpoint at all; with 2 the previous epoch's file
    # survives. tools/loso.py deletes all but the tested checkpoint once a fold is done.
    # A frozen text tower with a weight file is not saved: checkpoints record its file and sha256
    # (mer_clip/engine/frozen_text_tower.py, added by CheckpointContentsHook through mer_clip.apis).
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; mer_clip.compat switches to gloo on machines without CUDA
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
# A load_from / resume / tools/test.py checkpoint must give every model tensor its value (after the
# frozen text tower is reloaded from the file its meta records); one that leaves some at their
# initialisation is refused with its key prefixes. True loads it anyway (tools/train.py and
# tools/test.py --allow-partial-load); the run log's checkpoint line then says PARTIAL LOAD.
allow_partial_load = False
# True: the checkpoint of the last epoch keeps no optimizer / scheduler state (nothing resumes
# from it). Every LOSO fold trains with True (its finished folds keep that one weights-only file);
# False keeps the optimizer for extending the run with --resume and more epochs.
final_checkpoint_weights_only = False
randomness = dict(seed=0, deterministic=False, diff_rank_seed=False)

# RNGStateHook: per-epoch seeding + RNG states in checkpoints: a resumed run (an interrupted LOSO
# fold) gives the same results as an uninterrupted one (mer_clip/engine/hooks/rng_state_hook.py).
# CheckInvalidLossHook: a NaN / inf training loss stops the run with one clear error instead of
# training on and testing NaN weights. Configs that set their own custom_hooks keep both entries
# (tests/configs/test_config_hooks.py checks every config).
custom_hooks = [dict(type='RNGStateHook'), dict(type='CheckInvalidLossHook')]
