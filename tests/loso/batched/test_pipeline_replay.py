"""PipelineReplay: a fold's batches, masks and generator states through the replayed flow pipeline
equal dataset[i]'s over whole epochs; another pipeline is not replayed; a replay that differs on
the first batch falls back to dataset[i], logged."""
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mer_clip.loso.batched.fold_stream import FoldStream, _same_rng_state
from mer_clip.loso.batched.pipeline_replay import PipelineReplay
from mer_clip.engine.hooks.rng_state_hook import get_rng_state
from tests.conftest import flow_data_options

CONFIG = 'configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py'
MASKS = lambda x: [(0.5, (x.shape[0], 16, 10, 10), torch.channels_last)]  # noqa: E731


@pytest.fixture
def train_set(megc2019_flow_ann, in_repo):
    init_default_scope('mmaction')
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in flow_data_options(megc2019_flow_ann)))
    return lambda: DATASETS.build(dict(cfg.train_dataloader.dataset, loso_subject='samm_006',
                                       serialize_data=False))


def _epochs(stream, epochs):
    out = []
    for epoch in epochs:
        stream.start_epoch(epoch)
        for step in range(len(stream)):
            out.append(stream.batch(step, MASKS) + (get_rng_state(), ))
    return out


def test_replayed_batches_equal_the_pipelines_over_epochs(train_set):
    logs = []
    fast = FoldStream(train_set(), 32, seed=3, log=logs.append)
    slow = FoldStream(train_set(), 32, seed=3, replay=False)
    assert fast.replay is not None and slow.replay is None
    got, ref = _epochs(fast, [0, 1]), _epochs(slow, [0, 1])
    assert fast.replay is not None and not logs  # the first-batch check passed
    for (x, y, m, rng), (rx, ry, rm, rrng) in zip(got, ref, strict=True):
        assert torch.equal(x, rx) and torch.equal(y, ry)
        assert x.is_contiguous(memory_format=torch.channels_last) == \
            rx.is_contiguous(memory_format=torch.channels_last)
        assert all(torch.equal(a, b) for a, b in zip(m, rm, strict=True))
        assert _same_rng_state(rng, rrng)  # the generators after the batch, as after dataset[i]
    # the random flip was replayed, not skipped: some images of the last batch are mirrored
    x, ids = got[-1][0], fast.order[(len(fast) - 1) * 32:]
    loaded = [torch.from_numpy(fast.replay.loaded[i]['imgs'][0]).permute(2, 0, 1) for i in ids]
    mirrored = sum(not torch.equal(a, b) for a, b in zip(x, loaded))
    assert 0 < mirrored < len(ids)


def test_other_pipelines_are_not_replayed(train_set):
    ds = train_set()
    ds.pipeline.transforms.insert(1, ds.pipeline.transforms[1])  # a second flip
    assert PipelineReplay.of(ds) is None


def test_a_replay_that_differs_falls_back_to_the_pipeline(train_set, monkeypatch):
    logs = []
    stream = FoldStream(train_set(), 32, seed=0, log=logs.append)
    sample = stream.replay.sample
    monkeypatch.setattr(stream.replay, 'sample', lambda i: (sample(i)[0] * 0, sample(i)[1]))
    stream.start_epoch(0)
    x, _, _ = stream.batch(0, MASKS)
    assert stream.replay is None and len(logs) == 1 and 'dataset[i]' in logs[0]
    ref = FoldStream(train_set(), 32, seed=0, replay=False)
    ref.start_epoch(0)
    assert torch.equal(x, ref.batch(0, MASKS)[0])
