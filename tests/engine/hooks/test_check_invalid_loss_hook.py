"""CheckInvalidLossHook: a finite loss passes, a NaN / inf loss term stops training with one line
naming epoch, iteration, term and the options to look at; in a real Runner nothing of the
diverged epoch is saved."""
import os
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import IterBasedTrainLoop, Runner
from torch.utils.data import DataLoader

from mmaction.registry import HOOKS
from mer_clip.engine.hooks import CheckInvalidLossHook, NonFiniteLossError
from mer_clip.utils.cli import USER_ERRORS, run_tool


def fake_runner(epoch=2, iters=5, lr=1e6, amp_dtype=None):
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr))
    if amp_dtype is not None:  # only cast_dtype is read; AmpOptimWrapper needs CUDA to build
        amp = AmpOptimWrapper.__new__(AmpOptimWrapper)
        vars(amp).update(vars(wrapper), cast_dtype=amp_dtype)
        wrapper = amp
    loop = SimpleNamespace(dataloader=[None] * iters)
    return SimpleNamespace(epoch=epoch, iter=epoch * iters + 1, train_loop=loop,
                           optim_wrapper=wrapper)


def outputs(**terms):
    return {k: torch.tensor(v) for k, v in terms.items()}


def test_finite_losses_pass():
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    runner = fake_runner()
    hook.after_train_iter(runner, 1, outputs=outputs(loss=3e30, loss_cls=3e30, top1_acc=0.5))
    hook.after_train_iter(runner, 1, outputs={'loss': 0.5})  # plain numbers too
    hook.after_train_iter(runner, 1, outputs=None)
    hook.after_train_iter(runner, 1, outputs=outputs(top1_acc=float('nan')))  # not a loss term


@pytest.mark.parametrize('value, shown', [(float('nan'), 'nan'), (float('inf'), 'inf'),
                                          (float('-inf'), '-inf')])
def test_non_finite_loss_raises_one_line(value, shown):
    hook = CheckInvalidLossHook()
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(fake_runner(), 1, outputs=outputs(loss=value, loss_cls=1.0,
                                                                loss_clip=value))
    msg = str(err.value)
    assert '\n' not in msg
    assert msg.startswith('training diverged at epoch 3, iteration 2 of 5: ')
    assert f'(loss={shown}, loss_clip={shown})' in msg  # the bad terms only, in order
    assert 'optim_wrapper.optimizer.lr, now 1e+06' in msg and 'AMP' not in msg
    assert isinstance(err.value, USER_ERRORS)  # tools print it as one `error:` line


def test_plain_number_and_amp_and_iteration_loop():
    with pytest.raises(NonFiniteLossError, match=r'\(loss=nan\).*without AMP \(AmpOptimWrapper, '
                       r'bfloat16: tools/train.py --no-amp'):
        CheckInvalidLossHook().after_train_iter(fake_runner(amp_dtype=torch.bfloat16), 0,
                                                outputs={'loss': float('nan')})
    runner = fake_runner()
    runner.train_loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    with pytest.raises(NonFiniteLossError, match='training diverged at iteration 12: '):
        CheckInvalidLossHook().after_train_iter(runner, 0, outputs=outputs(loss=float('inf')))


def test_a_tool_prints_one_error_line(capsys):
    def main(argv):
        nan = outputs(loss=float('nan'))
        CheckInvalidLossHook().after_train_iter(fake_runner(), 0, outputs=nan)

    assert run_tool(main, []) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith('error: training diverged at epoch 3, iteration 1 of 5')


class Diverging(BaseModel):
    """A loss that turns NaN at the 5th training iteration (epoch 2, iteration 2 of 3)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.steps += 1
        loss = (self.w * torch.stack(inputs).sum()) ** 2
        return dict(loss_toy=loss * float('nan') if self.steps >= 5 else loss)


def test_runner_stops_and_saves_nothing_of_the_diverged_epoch(tmp_path):
    runner = Runner(
        model=Diverging(), work_dir=str(tmp_path), experiment_name='diverging',
        train_dataloader=DataLoader([torch.ones(1)] * 6, batch_size=2,
                                    collate_fn=lambda b: dict(inputs=b)),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3)),
        custom_hooks=[dict(type='CheckInvalidLossHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        log_level='WARNING', default_scope='mmaction')
    with pytest.raises(NonFiniteLossError, match=r'epoch 2, iteration 2 of 3: .*\(loss=nan, '
                       r'loss_toy=nan\).*lr, now 0.001\)'):
        runner.train()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['epoch_1.pth']
