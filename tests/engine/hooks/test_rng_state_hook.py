"""RNGStateHook: per-epoch seeding reaches the private generators a resume would rebuild."""
from types import SimpleNamespace

import torch

from mer_clip.engine.hooks.rng_state_hook import RNGStateHook, private_generators
from mer_clip.models.data_preprocessors.local_static_face_mix import LocalStaticFaceMix


class _Preprocessor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blending = LocalStaticFaceMix(prob=0.5, seed=123)  # a plain object, not a module


def _runner(model, epoch):
    loader = SimpleNamespace(num_workers=0)
    return SimpleNamespace(model=model, epoch=epoch, seed=0, _randomness_cfg={},
                           train_loop=SimpleNamespace(dataloader=loader))


def _draws(mix):
    return [torch.rand(8, generator=mix.generator).tolist() for _ in range(3)]


def test_resumed_run_draws_what_the_uninterrupted_one_draws():
    hook = RNGStateHook()
    model = torch.nn.Sequential(_Preprocessor())
    assert private_generators(model) == [model[0].blending]
    uninterrupted = {}
    for epoch in range(3):
        hook.before_train_epoch(_runner(model, epoch))
        uninterrupted[epoch] = _draws(model[0].blending)
    resumed = torch.nn.Sequential(_Preprocessor())  # rebuilt from the config after a kill
    hook.before_train_epoch(_runner(resumed, 2))
    assert _draws(resumed[0].blending) == uninterrupted[2]
    assert uninterrupted[1] != uninterrupted[2]
