"""Training the pending folds of a LOSO plan together, and writing each fold's files.

:func:`train_batched` builds each fold as its per-fold run would (seed, model and its initial
weights, training set, optimizer groups and schedule), stacks the models (a
:class:`~.stacked_model.StackedModel` for the config: :mod:`.stacked_ststnet`,
:mod:`.stacked_off_apexnet`) and runs the epochs in lockstep: at each step every fold that still
has a batch in its epoch takes its own batch and dropout masks (:mod:`.fold_stream`), the folds are
run together (grouped by batch size: the last batch of an epoch is shorter and differs between
folds), and the stacked AdamW (:mod:`.stacked_adamw`) updates exactly the folds that had a batch. A
fold whose schedule ends (``max_epochs`` per fold, e.g. from ``--fold-cfg-options``) stops
updating; at its end it is tested on its held-out samples and gets the files of the other fold
modes: its last checkpoint ``epoch_<E>.pth`` (per-fold weights, loadable by ``tools/test.py``),
``train_done.json``, ``predictions.csv`` and ``fold.json`` (``fold_mode: batched``).

Resume: the stacked state (weights, batch-norm statistics, AdamW moments, step counts, the UNSAFE
best-epoch record) is written to ``WORK_DIR/batched_state.pth`` at every epoch end, atomically with
a checksum. Every epoch's randomness is a function of ``(seed, epoch)`` (``RNGStateHook``), so a
run resumed from it continues exactly as an uninterrupted one.
"""
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

from ...checkpoint import CheckpointError, read_checkpoint, verify_checkpoint, write_checksum
from ...evaluation.functional import mer_metrics
from ...evaluation.mer_metric import write_predictions_csv
from ...utils.atomic_write import errors_name
from ..fold_files import (FoldFailed, finish_fold, mark_trained, prediction_file,
                          record_seconds)
from ..fold_job import RULE_BEST_ON_TEST_FOLD, FoldJob
from .fold_schedule import fold_schedule
from .fold_stream import FoldStream, eval_batches
from .stacked_adamw import StackedAdamW
from .stacked_model import stacked_model_class

STATE_FILE = 'batched_state.pth'
#: folds per stacked forward / backward: the step is bound by memory passes over the maps; with
#: the channels_last layout it cost about 120 / 105 / 205 us CPU per sample with 2 / 4 / 8 folds at
#: batch 32 (the maps of 8 folds leave the caches; bench/bench_fold_batched.py, docs/speed.md
#: section 7)
FOLDS_PER_CALL = 4


class _Fold:
    """One fold as its per-fold run builds it: config, model, data, schedule."""

    def __init__(self, job: FoldJob, log: Callable[[str], None] = print) -> None:
        from mmaction.registry import DATASETS, MODELS
        self.job = job
        cfg = self.cfg = job.train_config()
        self.stacked_class = stacked_model_class(cfg.model)  # or the reason it cannot be
        if job.tests != [None]:
            raise FoldFailed(f'{job.name}: --fold-mode batched runs LOSO folds (a held-out '
                             'subject each), not fixed splits; use --fold-mode inprocess')
        loader = cfg.train_dataloader
        if loader.get('num_workers', 0):
            raise FoldFailed(f'{job.name}: --fold-mode batched replays the batches of '
                             'num_workers=0 (the flow configs); the config has '
                             f'num_workers={loader.num_workers}')
        set_random_seed(job.seed)  # as the Runner before it builds the model
        self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        # serialize_data=False: mmengine packs a dataset's records for worker processes (and
        # runs gc.collect, ~2 s with many folds in memory); the batched mode has no workers
        self.stream = FoldStream(DATASETS.build(dict(loader.dataset, serialize_data=False)),
                                 loader.batch_size, job.seed,
                                 shuffle=loader.sampler.get('shuffle', True),
                                 drop_last=loader.get('drop_last', False), log=log)
        self.test_set = DATASETS.build(dict(job.test_config().test_dataloader.dataset,
                                            serialize_data=False))
        self.max_epochs = int(cfg.train_cfg.max_epochs)
        self.schedule = fold_schedule(self.model, cfg, len(self.stream), self.max_epochs)
        self.unsafe = job.checkpoint_rule == RULE_BEST_ON_TEST_FOLD


def train_batched(jobs: Sequence[FoldJob], work_dir: str,
                  log: Callable[[str], None] = print,
                  on_fold_done: Callable[[FoldJob], None] = lambda job: None,
                  all_jobs: Optional[Sequence[FoldJob]] = None) -> None:
    """Train and test the pending fold jobs ``jobs`` together (module docstring). ``all_jobs``:
    every fold of the plan; a stacked state of an interrupted run that also holds folds which
    finished before the interruption is resumed with them (they no longer update)."""
    if not jobs:
        return
    init_default_scope('mmaction')
    t0 = time.time()
    jobs = _jobs_of_state(osp.join(work_dir, STATE_FILE), jobs, all_jobs or jobs)
    folds = [_Fold(job, log) for job in jobs]
    log(f'[batched] {len(folds)} folds built in {time.time() - t0:.1f}s')
    run = _BatchedRun(folds, osp.join(work_dir, STATE_FILE), log, on_fold_done)
    run.train()


def _jobs_of_state(state_file: str, pending: Sequence[FoldJob],
                   all_jobs: Sequence[FoldJob]) -> List[FoldJob]:
    """The folds of the interrupted run in ``state_file`` when they include every pending one
    (the others finished before the interruption), else the pending folds."""
    if not osp.exists(state_file):
        return list(pending)
    try:
        names = read_checkpoint(state_file).get('folds') or []
    except CheckpointError:
        return list(pending)  # reported by _load_state
    by_name = {job.name: job for job in all_jobs}
    if {job.name for job in pending} <= set(names) <= set(by_name):
        return [by_name[n] for n in names]
    return list(pending)


class _BatchedRun:
    def __init__(self, folds: List[_Fold], state_file: str, log, on_fold_done) -> None:
        self.folds = folds
        self.state_file = state_file
        self.log = log
        self.on_fold_done = on_fold_done
        kinds = {f.stacked_class for f in folds}
        if len(kinds) > 1:
            names = sorted(k.__name__ for k in kinds)
            raise FoldFailed(f'the folds have different models ({names}); the fold-batched '
                             'mode stacks folds of one model')
        self.model = folds[0].stacked_class([f.model for f in folds])
        for f in folds:
            f.model = None  # stacked: the per-fold copies are no longer needed
        self.params = {n: p for n, p in self.model.named_parameters()}
        first = folds[0].schedule
        for f in folds:
            s = f.schedule
            if (s.betas, s.eps, s.optimizer) != (first.betas, first.eps, first.optimizer):
                raise FoldFailed(f'{f.job.name}: its optimizer settings differ from '
                                 f'{folds[0].job.name}\'s (betas, eps, type); the fold-batched '
                                 'mode stacks folds of one optimizer')
        self.opt = StackedAdamW(self.params, betas=first.betas, eps=first.eps,
                                decoupled=first.optimizer == 'AdamW')
        # per stacked parameter: the per-fold model's names (lr / weight decay per name)
        self.names = {stacked: key for key, stacked in self.model.param_names.items()}
        self.decay = {n: torch.tensor([f.schedule.weight_decay[self.names[n]] for f in folds],
                                      dtype=torch.float64) for n in self.params}
        self.epoch = 0
        self.best = [None] * len(folds)  # UNSAFE: (uf1, epoch, fold state dict)
        self.started = time.time()

    # ---------------------------------------------------------------------------- state
    def _state(self) -> dict:
        return dict(epoch=self.epoch, folds=[f.job.name for f in self.folds],
                    model=self.model.state_dict(), optimizer=self.opt.state_dict(),
                    best=self.best)

    def _save_state(self) -> None:
        tmp = f'{self.state_file}.tmp{os.getpid()}'
        torch.save(self._state(), tmp)
        with errors_name(self.state_file):
            os.replace(tmp, self.state_file)
        write_checksum(self.state_file)

    def _load_state(self) -> None:
        if not osp.exists(self.state_file):
            return
        names = [f.job.name for f in self.folds]
        try:
            verify_checkpoint(self.state_file)
            state = read_checkpoint(self.state_file)
        except CheckpointError as e:
            self.log(f'[batched] {self.state_file} cannot be used ({e}); training from the start')
            return
        if state.get('folds') != names:
            self.log(f'[batched] {self.state_file} holds other folds ({len(state.get("folds"))} '
                     f'folds, not these {len(names)}); training these from the start')
            return
        self.model.load_state_dict(state['model'])
        self.opt.load_state_dict(state['optimizer'])
        self.epoch, self.best = int(state['epoch']), list(state['best'])
        self.log(f'[batched] resumed {len(names)} folds from {self.state_file} at epoch '
                 f'{self.epoch}')

    # ---------------------------------------------------------------------------- training
    def train(self) -> None:
        self._load_state()
        total = max(f.max_epochs for f in self.folds)
        while self.epoch < total:
            self._train_epoch(self.epoch)
            self.epoch += 1
            if any(f.unsafe for f in self.folds):
                self._keep_best(self.epoch)
            for i, f in enumerate(self.folds):
                if f.max_epochs == self.epoch:
                    self._finish(i)
            if self.epoch < total:
                self._save_state()
        if osp.exists(self.state_file):  # every fold has its files now
            os.remove(self.state_file)
            sidecar = self.state_file + '.sha256'
            if osp.exists(sidecar):
                os.remove(sidecar)

    def _train_epoch(self, epoch: int) -> None:
        self.model.train()
        active = [i for i, f in enumerate(self.folds) if epoch < f.max_epochs]
        for i in active:
            self.folds[i].stream.start_epoch(epoch)
        for step in range(max(len(self.folds[i].stream) for i in active)):
            groups: Dict[int, List[int]] = {}
            for i in active:
                sizes = self.folds[i].stream.batch_sizes()
                if step < len(sizes):
                    groups.setdefault(sizes[step], []).append(i)
            for par in self.params.values():
                par.grad = None
            stepping = torch.zeros(len(self.folds), dtype=torch.bool)
            chunks = [m[i:i + FOLDS_PER_CALL] for m in groups.values()
                      for i in range(0, len(m), FOLDS_PER_CALL)]
            for members in chunks:
                batches = [self.folds[i].stream.batch(step, self.model.mask_specs)
                           for i in members]
                x = torch.stack([b[0] for b in batches])  # (G, B, C, H, W)
                y = torch.stack([b[1] for b in batches])  # (G, B)
                masks = [torch.stack(m) for m in zip(*[b[2] for b in batches])]  # (G, B, ...)
                idx = torch.tensor(members)
                logits = self.model(x, idx, masks)  # (G, B, classes)
                self.model.fold_losses(logits, y, epoch).sum().backward()  # disjoint folds
                stepping[idx] = True
            lr = {n: torch.tensor([self._lr(f, epoch, step, n) for f in self.folds],
                                  dtype=torch.float64) for n in self.params}
            self.opt.step(stepping, lr, self.decay)

    def _lr(self, fold: _Fold, epoch: int, step: int, stacked: str) -> float:
        at = epoch * len(fold.stream) + step
        if epoch >= fold.max_epochs or step >= len(fold.stream):
            return 0.0  # not stepping
        return fold.schedule.lr[at][self.names[stacked]]

    # ---------------------------------------------------------------------------- testing
    @torch.no_grad()
    def _predict(self, i: int, state: Optional[dict] = None) -> List[Dict]:
        """Fold ``i``'s predictions on its held-out samples (softmax scores, as TSNHead's
        ``average_clips='prob'``), the rows MERMetric writes."""
        self.model.eval()
        fold = self.folds[i]
        rows = []
        saved = None
        if state is not None:  # the UNSAFE best epoch's weights, swapped in
            saved = self.model.fold_state_dict(i)
            self.model.set_fold_state(i, state)
        for x, y, metas in eval_batches(fold.test_set, fold.cfg.test_dataloader.batch_size):
            scores = self.model.scores(self.model(x.unsqueeze(0), torch.tensor([i])))[0]
            for s, gt, meta in zip(scores, y, metas):
                s = s.numpy()
                rows.append(dict(sample_id=str(meta.get('sample_id')),
                                 subject=str(meta.get('subject', '')), gt=int(gt),
                                 pred=int(s.argmax()), scores=s.reshape(-1).tolist()))
                if not np.isfinite(s).all():
                    raise FoldFailed(f'{fold.job.name}: sample {meta.get("sample_id")}: the '
                                     'class scores are not finite: the model diverged in '
                                     'training; lower optim_wrapper.optimizer.lr')
        if saved is not None:
            self.model.set_fold_state(i, saved)
        return rows

    def _keep_best(self, epoch: int) -> None:
        """UNSAFE (the authors' protocol): each fold keeps its epoch of best test UF1 (the first
        of equal ones, as mmengine's ``save_best`` with ``rule='greater'``)."""
        for i, f in enumerate(self.folds):
            if not f.unsafe or epoch > f.max_epochs:
                continue
            rows = self._predict(i)
            uf1 = mer_metrics([r['gt'] for r in rows], [r['pred'] for r in rows],
                              len(rows[0]['scores']))['uf1']
            if self.best[i] is None or uf1 > self.best[i][0]:
                self.best[i] = (uf1, epoch, self.model.fold_state_dict(i))

    def _finish(self, i: int) -> None:
        fold = self.folds[i]
        job = fold.job
        state = self.model.fold_state_dict(i)
        name = f'epoch_{fold.max_epochs}.pth'
        if fold.unsafe:
            uf1, best_epoch, state = self.best[i]
            name = f'best_mer_UF1_epoch_{best_epoch}.pth'
        ckpt = osp.join(job.work_dir, name)
        os.makedirs(job.work_dir, exist_ok=True)
        tmp = f'{ckpt}.tmp{os.getpid()}'
        torch.save(dict(meta=dict(epoch=fold.max_epochs, seed=job.seed, fold_mode='batched'),
                        state_dict=state), tmp)
        with errors_name(ckpt):
            os.replace(tmp, ckpt)
        write_checksum(ckpt)
        mark_trained(job)
        share = (time.time() - self.started) / len(self.folds)
        record_seconds(job, 'train', share)  # this fold's share of the batched run so far
        t = time.time()
        rows = self._predict(i, state if fold.unsafe else None)
        classes = fold.test_set.metainfo.get('classes')
        write_predictions_csv(prediction_file(job, None), rows, classes)
        record_seconds(job, 'test', time.time() - t)
        finish_fold(job)
        self.on_fold_done(job)
