"""ProgressiveLossHook: the weight table, and the same weights after a resume (mmengine Runner)."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset

from mmaction.registry import HOOKS
from mer_clip.engine.hooks import ProgressiveLossHook, progressive_weights


def test_weight_table_defaults_55_epochs():
    table = [progressive_weights(e, 55) for e in range(60)]
    assert table[0] == (1.0, 0.0)
    assert table[27] == pytest.approx((0.75, 0.25))
    assert table[54] == pytest.approx((0.5, 0.5))  # the floor ("balance") at the last epoch
    assert table[59] == pytest.approx((0.5, 0.5))  # and after it
    clips = [w for w, _ in table]
    assert all(a >= b for a, b in zip(clips, clips[1:]))  # never rises
    steps = [a - b for a, b in zip(clips[:55], clips[1:55])]
    assert steps == pytest.approx([0.5 / 54] * 54)  # linear per epoch
    assert all(c + s == pytest.approx(1.0) for c, s in table)


def test_authors_config_and_formula_variants():
    # authors: clip 2.0 -> 1.0, total 2.0, divided by the number of epochs (floor not reached)
    w, c = progressive_weights(54, 55, start=2.0, end=1.0, total=2.0, decay_epochs=55)
    assert w == pytest.approx(2.0 - 54 / 55) and c == pytest.approx(54 / 55)
    assert progressive_weights(3, 10, 1.0, 0.2, 1.0, decay_epochs=4) == pytest.approx((0.4, 0.6))
    assert progressive_weights(5, 10, 1.0, 0.2, 1.0, decay_epochs=4) == pytest.approx((0.2, 0.8))
    assert progressive_weights(0, 1) == (1.0, 0.0)
    for bad in (dict(start=0.4, end=0.5), dict(total=0.8), dict(end=-0.1)):
        with pytest.raises(ValueError):
            progressive_weights(0, 10, **{**dict(start=1.0, end=0.5, total=1.0), **bad})
    with pytest.raises(ValueError):
        ProgressiveLossHook(start=0.5, end=0.8)


class WeightedToy(BaseModel):
    """A model with two losses and set_loss_weights, recording the weights each step sees."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.w = dict(clip=None, cls=None)
        self.seen = {}

    def set_loss_weights(self, clip, cls):
        self.w = dict(clip=clip, cls=cls)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        out = self.lin(x).mean()
        if mode == 'loss':
            self.seen[self._epoch_hint] = dict(self.w)
            return dict(loss_clip=self.w['clip'] * out ** 2, loss_cls=self.w['cls'] * out ** 2)
        return [out]


class ToyData(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


class EpochHint(ProgressiveLossHook):
    """Tells the toy model which epoch a step belongs to (for the record only)."""

    def before_train_epoch(self, runner):
        super().before_train_epoch(runner)
        runner.model._epoch_hint = runner.epoch


def make_runner(work_dir, max_epochs, resume=False, name='toy'):
    model = WeightedToy()
    return Runner(
        model=model, work_dir=str(work_dir), experiment_name=name,
        train_dataloader=DataLoader(ToyData(), batch_size=2, collate_fn=lambda b: dict(
            inputs=[d['inputs'] for d in b])),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[EpochHint(start=1.0, end=0.5, total=1.0)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, log_level='WARNING', default_scope='mmaction')


def test_hook_sets_logs_and_resumes_identically(tmp_path):
    full = make_runner(tmp_path / 'full', max_epochs=5, name='full')
    full.train()
    expected = {e: progressive_weights(e, 5) for e in range(5)}
    assert {e: (w['clip'], w['cls']) for e, w in full.model.seen.items()} == expected
    hub = full.message_hub
    assert hub.get_scalar('train/progressive_w_clip').current() == pytest.approx(0.5)
    assert hub.get_scalar('train/progressive_w_cls').current() == pytest.approx(0.5)

    # a run interrupted after epoch 2, resumed from its checkpoint, sees the same weights
    part = make_runner(tmp_path / 'part', max_epochs=5, name='part')
    part.train_loop._max_epochs = 2  # "interrupted" after 2 of the 5 epochs
    part.train()
    assert sorted(part.model.seen) == [0, 1]
    resumed = make_runner(tmp_path / 'part', max_epochs=5, resume=True, name='resumed')
    resumed.train()
    assert sorted(resumed.model.seen) == [2, 3, 4]
    for e in (2, 3, 4):
        assert resumed.model.seen[e] == full.model.seen[e]


def test_registered_and_clear_error_without_set_loss_weights():
    hook = HOOKS.build(dict(type='ProgressiveLossHook', num_epochs=3))
    model = torch.nn.Linear(2, 1)
    runner = SimpleNamespace(model=model, epoch=0, max_epochs=3, logger=logging.getLogger('t'))
    with pytest.raises(AttributeError, match='set_loss_weights'):
        hook.before_train(runner)
    no_epochs = ProgressiveLossHook()
    runner2 = SimpleNamespace(model=WeightedToy(), epoch=0, max_epochs=None,
                              logger=logging.getLogger('t'))
    with pytest.raises(ValueError, match='num_epochs'):
        no_epochs.weights(runner2)
