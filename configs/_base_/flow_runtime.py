# Runtime of the flow configs: the default runtime, with one checkpoint per run (the last epoch, the
# one a LOSO fold reports) instead of one per epoch. A fold of these tiny models takes seconds, so
# writing a checkpoint every epoch would cost more than rerunning an interrupted fold.
_base_ = ['./default_runtime.py']

default_hooks = dict(checkpoint=dict(interval=-1, max_keep_ckpts=1, save_last=True))

# tools/loso.py: a fold of these models trains in seconds, less than a fresh Python process takes
# to start and import torch + mmengine; one worker process per --parallel slot runs its share of
# the folds (mer_clip/loso/inprocess.py; same steps, files and resume as the default 'subprocess').
loso_fold_mode = 'inprocess'
