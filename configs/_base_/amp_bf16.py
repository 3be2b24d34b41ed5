# The paper's schedule (schedules/adamw_cosine_55e.py) trained with bf16 mixed precision on GPUs:
# mmengine's AmpOptimWrapper runs forward and loss under torch.autocast(dtype=torch.bfloat16); the
# contrastive logits (AUTextAlignHead), the focal loss and the classifier logits are computed in
# float32 inside it, the frozen text encoder runs in float32 (its cached features do not depend on
# the precision), and the weights and AdamW states stay float32. bf16 has float32's exponent range,
# so no loss scaling is needed; 'dynamic' keeps mmengine's GradScaler, which then only skips a step
# with inf/nan gradients.
#
# Use it INSTEAD of './_base_/schedules/adamw_cosine_55e.py' in a task config's _base_ list
# (mmengine forbids the same key, here optim_wrapper, in two sibling bases). mmengine's
# AmpOptimWrapper asserts that CUDA (or NPU/MLU/MUSA) is available: on a CPU-only machine train the
# tiny synthetic configs (fp32), or override with
#   --cfg-options optim_wrapper.type=OptimWrapper   (needs tools/train.py to drop `dtype` and
#   `loss_scale`, see docs/speed.md).
_base_ = ['./schedules/adamw_cosine_55e.py']

optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')
