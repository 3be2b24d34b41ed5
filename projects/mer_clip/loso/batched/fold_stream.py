"""One fold's training batches and dropout masks, drawn exactly as its per-fold run draws them.

A per-fold run (mmengine's Runner with ``RNGStateHook``, ``num_workers=0``) draws, in each epoch:
``RNGStateHook`` seeds Python, NumPy and torch from ``(seed, epoch)``; the DataLoader iterator
takes its base seed from torch's generator; ``DefaultSampler`` permutes the training set with its
own generator seeded ``seed + epoch``; then each step runs the pipeline on its 32 samples (the
flips draw from NumPy) and the forward draws the dropout mask from torch. :class:`FoldStream`
replays that sequence with the fold's generator states swapped in around each of its draws, so
many folds can interleave their steps in one process and each still sees its own batches and
masks. For the flow pipelines the samples come from a :class:`~.pipeline_replay.PipelineReplay`
(the same images, labels and generator draws without ``dataset[i]``'s copies), checked against
the real pipeline on the fold's first batch.
"""
import math
from typing import Callable, List, Tuple

import numpy as np
import torch
from torch import Tensor

from ...engine.hooks.rng_state_hook import epoch_seed, get_rng_state, seed_everything, \
    set_rng_state
from .pipeline_replay import PipelineReplay


class FoldStream:
    """The batches of one fold's training set (module docstring).

    Args:
        dataset: the fold's training dataset (its pipeline applied by ``dataset[i]``).
        batch_size: the train dataloader's batch size.
        seed: the fold's ``randomness.seed`` (the sampler's and ``RNGStateHook``'s).
        shuffle: the sampler's ``shuffle``.
        drop_last: the dataloader's ``drop_last``.
        replay: draw the samples through a :class:`PipelineReplay` when the pipeline is one
            (checked on the first batch); False: always ``dataset[i]``.
        log: where the fall-back to ``dataset[i]`` is reported.
    """

    def __init__(self, dataset, batch_size: int, seed: int, shuffle: bool = True,
                 drop_last: bool = False, replay: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.order: List[int] = []
        self.rng = None
        self.replay = PipelineReplay.of(dataset) if replay else None
        self.checked = self.replay is None
        self.log = log

    def __len__(self) -> int:
        """Steps per epoch (the per-fold run's ``len(train_dataloader)``)."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_sizes(self) -> List[int]:
        n = len(self.dataset)
        return [min(self.batch_size, n - i * self.batch_size) for i in range(len(self))]

    def start_epoch(self, epoch: int) -> None:
        """The generators as the per-fold run has them when its epoch's first batch is fetched."""
        seed_everything(epoch_seed(self.seed, epoch))
        torch.empty((), dtype=torch.int64).random_()  # the DataLoader iterator's base seed
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + epoch)
            self.order = torch.randperm(len(self.dataset), generator=g).tolist()
        else:
            self.order = list(range(len(self.dataset)))
        self.rng = get_rng_state()

    def batch(self, step: int, mask_specs=None) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """Step ``step`` of the epoch: inputs (B, C, H, W), labels (B,) and the dropout masks
        (``mask_specs(inputs)`` -> [(p, shape, memory format)], in the order the fold's forward
        draws them; kept / (1 - p), as ``F.dropout`` multiplies), drawn after the batch."""
        ids = self.order[step * self.batch_size:(step + 1) * self.batch_size]
        set_rng_state(self.rng)
        draw = self._replay_batch if self.replay is not None else self._pipeline_batch
        inputs, labels = draw(ids)
        masks = self._masks(inputs, mask_specs)
        if not self.checked:
            inputs, labels, masks = self._check_replay(ids, mask_specs, (inputs, labels, masks))
        self.rng = get_rng_state()
        return inputs, labels, masks

    def _pipeline_batch(self, ids: List[int]) -> Tuple[Tensor, Tensor]:
        samples = [self.dataset[i] for i in ids]
        inputs = torch.stack([s['inputs'] for s in samples]).float()  # (B, 1, C, H, W)
        inputs = inputs.flatten(0, 1)  # (B, C, H, W): Recognizer2D's one clip per sample
        labels = torch.cat([s['data_samples'].gt_label.reshape(1) for s in samples])
        return inputs, labels

    def _replay_batch(self, ids: List[int]) -> Tuple[Tensor, Tensor]:
        imgs, labels = self.replay.batch(ids)  # (B, H, W, C), (B,)
        # (B, C, H, W) in channels_last memory, as the pipeline's HWC images seen as CHW
        return torch.from_numpy(imgs).permute(0, 3, 1, 2), torch.from_numpy(labels)

    def _check_replay(self, ids: List[int], mask_specs, replayed):
        """The replay's first batch ``replayed`` (inputs, labels, masks; the generators as after
        it) against ``dataset[i]``'s: inputs (values and layout), labels, masks and the generator
        states after it. Returns the batch to use; on any difference ``dataset[i]``'s, which the
        fold keeps drawing from."""
        self.checked = True
        after = get_rng_state()
        set_rng_state(self.rng)
        inputs, labels = self._pipeline_batch(ids)
        ref = (inputs, labels, self._masks(inputs, mask_specs))
        same = (torch.equal(ref[0], replayed[0])
                and memory_format(ref[0]) == memory_format(replayed[0])
                and torch.equal(ref[1], replayed[1]) and len(ref[2]) == len(replayed[2])
                and all(torch.equal(a, b) for a, b in zip(ref[2], replayed[2]))
                and _same_rng_state(get_rng_state(), after))
        if same:
            return replayed
        self.log('[batched] the pipeline replay differs from the dataset\'s pipeline on the '
                 'first batch; this fold draws its samples through dataset[i] (slower, same '
                 'batches)')
        self.replay = None
        return ref

    @staticmethod
    def _masks(inputs: Tensor, mask_specs) -> List[Tensor]:
        masks = []
        for p, shape, layout in (mask_specs(inputs) if mask_specs is not None else []):
            # F.dropout on the CPU fills empty_like(its input) in memory order: a mask on a
            # per-fold map must be drawn in that map's memory format to be the same mask
            masks.append(torch.empty(shape, memory_format=layout).bernoulli_(1 - p).div_(1 - p))
        return masks


def _same_rng_state(a: dict, b: dict) -> bool:
    return (a['python'] == b['python'] and a['numpy'][0] == b['numpy'][0]
            and np.array_equal(a['numpy'][1], b['numpy'][1]) and a['numpy'][2:] == b['numpy'][2:]
            and torch.equal(a['torch'], b['torch']))


def memory_format(x: Tensor) -> torch.memory_format:
    """The memory format a convolution of ``x`` (B, C, H, W) gives its output (channels_last
    when the pipeline's images are HWC arrays seen as CHW)."""
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def eval_batches(dataset, batch_size: int):
    """A test set in order, as (inputs (B, C, H, W), labels (B,), metainfo dicts)."""
    for start in range(0, len(dataset), batch_size):
        samples = [dataset[i] for i in range(start, min(len(dataset), start + batch_size))]
        inputs = torch.stack([s['inputs'] for s in samples]).float().flatten(0, 1)
        labels = torch.cat([s['data_samples'].gt_label.reshape(1) for s in samples])
        yield inputs, labels, [s['data_samples'].metainfo for s in samples]
