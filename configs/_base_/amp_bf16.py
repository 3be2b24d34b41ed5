# The paper's schedule (schedules/adamw_cosine_55e.py) trained with bf16 mixed precision on GPUs:
# mmengine's AmpOptimWrapper runs forward and loss under torch.autocast(dtype=torch.bfloat16); the
# contrastive and focal losses cast their inputs to float32 and run with autocast off, the
# contrastive logits (AUTextAlignHead) and the classifier logits are float32, the frozen text
# encoder runs in float32 (its cached features do not depend on the precision), and the weights and
# AdamW states stay float32.
#
# No loss scaling: bf16 has float32's exponent range, so gradients do not underflow the way fp16's
# do. mmengine's AmpOptimWrapper always builds a GradScaler (loss_scale='dynamic', a float or a
# dict of GradScaler arguments); loss_scale=dict(enabled=False) builds it disabled, a pass-through:
# backward() is loss.backward(), step() is optimizer.step() (after gradient clipping), nothing is
# scaled and no step is skipped. ('dynamic' would multiply the loss by 2^16 and silently skip every
# step whose gradients overflow, halving the scale each time.) tests/models/test_amp.py checks it.
#
# Use it INSTEAD of './_base_/schedules/adamw_cosine_55e.py' in a task config's _base_ list
# (mmengine forbids the same key, here optim_wrapper, in two sibling bases). mmengine's
# AmpOptimWrapper asserts that CUDA (or NPU/MLU/MUSA) is available: on a CPU-only machine
# tools/train.py trains in float32 (it drops `dtype` and `loss_scale`, see docs/speed.md); train the
# tiny synthetic configs (fp32) there.
_base_ = ['./schedules/adamw_cosine_55e.py']

optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale=dict(enabled=False))
