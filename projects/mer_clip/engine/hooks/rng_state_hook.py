"""RNGStateHook: make a resumed training bit-identical to an uninterrupted one.

mmengine seeds the random generators once, when the runner starts, and does not store their states
in checkpoints. A run resumed from ``epoch_k.pth`` therefore continues with generators that are in
their start-up state, not where the uninterrupted run had them after epoch k: augmentations, the
LocalStaticFaceMix draws, prompt templates and dropout all differ from there on, and so do the final
predictions. LOSO runs of 28-100 folds get interrupted; their pooled numbers must not depend on
that.

Storing the generator states alone is not enough: after the checkpoint of epoch k, the uninterrupted
run may still validate (which draws from the main generator when it builds its dataloader iterator)
while the resumed run skips that validation; and dataloader *workers* keep their own generators,
which no checkpoint of the main process can reach. This hook instead makes every training epoch's
randomness a pure function of ``(seed, epoch[, rank])``:

- ``before_train_epoch``: re-seed Python's ``random``, NumPy's global generator and torch (CPU and
  CUDA) from ``SeedSequence([seed, epoch, rank])``; give the train dataloader's workers the same
  epoch seed (mmengine's ``worker_init_fn`` with that seed) and restart persistent workers so they
  pick it up; and call ``reseed(epoch)`` on every part of the model that keeps a private generator
  (``LocalStaticFaceMix(seed=...)``), which a resumed run would otherwise rebuild at its start
  state.
- ``before_save_checkpoint`` / ``after_load_checkpoint``: also store and restore the generator
  states under ``checkpoint['rng_state']`` (for anything drawn between loading a checkpoint and the
  next epoch, and as a record). They load under ``weights_only=True`` (tensors, ints, NumPy arrays).

The rank only enters the seed with ``randomness.diff_rank_seed=True``, as in mmengine.
"""
import functools
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dataset import worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmaction.registry import HOOKS


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 32-bit seed that depends on (seed, epoch, rank) only (independent streams per epoch)."""
    state = np.random.SeedSequence([int(seed) % 2**63, int(epoch), int(rank)]).generate_state(1)
    return int(state[0])


def get_rng_state() -> dict:
    """States of Python's, NumPy's and torch's global generators (CUDA too when available)."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    state = dict(
        python=[py_state[0], list(py_state[1]), py_state[2]],
        numpy=[np_state[0], np_state[1].copy(), int(np_state[2]), int(np_state[3]),
               float(np_state[4])],
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['torch_cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    np.random.set_state(tuple(state['numpy']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('torch_cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


def private_generators(model) -> list:
    """Parts of ``model`` (modules, or plain objects held by one, such as a data preprocessor's
    ``blending``) with a ``reseed(epoch)`` method: they draw from generators of their own."""
    found, seen = [], set()
    modules = model.modules() if isinstance(model, torch.nn.Module) else []
    for module in modules:
        for obj in [module, *vars(module).values()]:
            if id(obj) not in seen and callable(getattr(obj, 'reseed', None)):
                seen.add(id(obj))
                found.append(obj)
    return found


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Per-epoch seeding and RNG states in checkpoints, for exact resumption (see module doc).

    Args:
        reseed_every_epoch (bool): re-seed all generators (and dataloader workers) at the start of
            every training epoch from ``(seed, epoch[, rank])``. Default True; False keeps only the
            state save / restore, which is exact only without workers and without validation
            between checkpoints.
    """

    priority = 'VERY_HIGH'  # seed before any other hook draws in before_train_epoch

    def __init__(self, reseed_every_epoch: bool = True) -> None:
        self.reseed_every_epoch = reseed_every_epoch

    @staticmethod
    def _rank_for_seed(runner) -> int:
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        return get_rank() if randomness.get('diff_rank_seed', False) else 0

    def before_train_epoch(self, runner) -> None:
        if not self.reseed_every_epoch:
            return
        seed = runner.seed if runner.seed is not None else 0
        s = epoch_seed(seed, runner.epoch, self._rank_for_seed(runner))
        seed_everything(s)
        self._reseed_workers(runner.train_loop.dataloader, s)
        for part in private_generators(runner.model):
            part.reseed(runner.epoch)

    @staticmethod
    def _reseed_workers(loader, seed: int) -> None:
        """Give the workers of ``loader`` the epoch seed; persistent workers are restarted."""
        num_workers = getattr(loader, 'num_workers', 0)
        if not num_workers:
            return  # the pipeline runs in this process: seeded above
        loader.worker_init_fn = functools.partial(
            worker_init_fn, num_workers=num_workers, rank=get_rank(), seed=seed)
        iterator: Optional[object] = getattr(loader, '_iterator', None)
        if iterator is not None:  # persistent workers: started with last epoch's seed
            shutdown = getattr(iterator, '_shutdown_workers', None)
            if shutdown is not None:
                shutdown()
            loader._iterator = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None:
            runner.logger.warning('RNGStateHook: the checkpoint has no rng_state (saved without '
                                  'this hook); the generators keep their current state.')
            return
        set_rng_state(state)
