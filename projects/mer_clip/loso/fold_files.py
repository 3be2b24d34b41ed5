"""A fold's files: what is done, which checkpoint is tested, and what is kept.

Resuming a LOSO run is by these files, so a run killed at any moment continues with the same
command (:mod:`.runner`):

- ``predictions.csv`` (``predictions_<split>.csv`` for fixed splits) exists only complete (written
  as ``.part`` and renamed): the fold's test is done;
- ``train_done.json`` names the checkpoint the fold is tested on, with the sha256 it was verified
  against when training ended (:func:`mark_trained`); a marker whose checkpoint is missing or
  damaged is not trusted (:func:`check_trained`) and training resumes;
- ``fold.json``: seed, tested checkpoint, seconds per step and fold mode, written when the fold is
  done (:func:`finish_fold`), after which only the tested checkpoint is kept (weights only:
  the last epoch's checkpoint of a fold is saved without optimizer state), or none
  (``keep_checkpoints='none'``); how each step's process computed (CPU, kernel path, pins:
  :func:`record_process`), for summary.json.

**Checkpoint rule**: the last epoch's checkpoint. The MER-CLIP authors keep the epoch with the best
UF1 on the validation set, which in their LOSO scripts *is the test subject*; that rule
(``RULE_BEST_ON_TEST_FOLD``) exists only to reproduce their tables and is labelled UNSAFE.
"""
import glob
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional

from ..checkpoint import CheckpointError, remove_checkpoint, verify_checkpoint
from ..utils.atomic_write import atomic_write_json
from .fold_job import JOB_FILE, RULE_BEST_ON_TEST_FOLD, FoldJob

TRAIN_DONE = 'train_done.json'
FOLD_INFO = 'fold.json'


class FoldFailed(RuntimeError):
    """A fold step failed; the message names the fold and where to look."""


def prediction_file(job: FoldJob, split: Optional[str] = None) -> str:
    name = 'predictions.csv' if split is None else f'predictions_{split}.csv'
    return osp.join(job.work_dir, name)


def is_done(job: FoldJob) -> bool:
    """Every test of the fold has its predictions."""
    return all(osp.exists(prediction_file(job, s)) for s in job.tests)


def is_trained(job: FoldJob) -> bool:
    return osp.exists(osp.join(job.work_dir, TRAIN_DONE))


def pending_steps(job: FoldJob) -> List[str]:
    """What the fold still needs: ``'train'``, then ``'test'`` (``'test:<split>'`` per split)."""
    steps = [] if is_trained(job) else ['train']
    steps += [('test' if s is None else f'test:{s}') for s in job.tests
              if not osp.exists(prediction_file(job, s))]
    return steps


def final_checkpoint(job: FoldJob) -> str:
    """The checkpoint the rule picks once training has ended; checked to exist."""
    if job.checkpoint_rule == RULE_BEST_ON_TEST_FOLD:
        best = sorted(glob.glob(osp.join(job.work_dir, 'best_*.pth')), key=osp.getmtime)
        if not best:
            raise FoldFailed(f'{job.name}: no best_*.pth in {job.work_dir} although '
                             '--select-on-test-fold-UNSAFE trains with save_best')
        return best[-1]
    unit = 'epoch' if job.by_epoch() else 'iter'
    expected = osp.join(job.work_dir, f'{unit}_{job.max_epochs()}.pth')
    if not osp.exists(expected):
        have = sorted(osp.basename(p) for p in glob.glob(osp.join(job.work_dir, '*.pth')))
        raise FoldFailed(f'{job.name}: the last checkpoint {expected} is missing (found '
                         f'{have}); training did not finish - run the same command again to '
                         'resume it')
    return expected


def mark_trained(job: FoldJob) -> str:
    """After training: verify the rule's checkpoint and record it in ``train_done.json``."""
    ckpt = final_checkpoint(job)
    try:
        checked = verify_checkpoint(ckpt)
    except CheckpointError as e:
        raise FoldFailed(f'{job.name}: training ended but its checkpoint is damaged: {e}') from None
    atomic_write_json(osp.join(job.work_dir, TRAIN_DONE),
                      dict(checkpoint=ckpt, seed=job.seed, finished=time.time(), verified=checked))
    return ckpt


def _marked_checkpoint(marker: str) -> Optional[str]:
    """The checkpoint a ``train_done.json`` names (OSError / ValueError when unreadable)."""
    with open(marker) as f:
        return json.load(f).get('checkpoint')


def tested_checkpoint(job: FoldJob) -> str:
    """The checkpoint ``train_done.json`` names (the one the fold's predictions come from)."""
    marker = osp.join(job.work_dir, TRAIN_DONE)
    try:
        ckpt = _marked_checkpoint(marker)
    except (OSError, ValueError) as e:
        raise FoldFailed(f'{job.name}: cannot read {marker} ({e}); run the same command again '
                         'to retrain the fold') from None
    if not ckpt:
        raise FoldFailed(f'{job.name}: {marker} names no checkpoint; run the same command again')
    return ckpt


def check_trained(job: FoldJob) -> Optional[str]:
    """Distrust ``train_done.json`` whose checkpoint is missing or damaged: remove both, so that
    training resumes from the newest complete checkpoint. Returns what was done."""
    if not is_trained(job) or is_done(job):  # a tested fold needs no checkpoint (keep 'none')
        return None
    marker = osp.join(job.work_dir, TRAIN_DONE)
    try:
        ckpt = _marked_checkpoint(marker)
    except (OSError, ValueError):
        ckpt = None
    try:
        if not ckpt:
            raise CheckpointError(f'{marker} names no checkpoint')
        verify_checkpoint(ckpt)
        return None
    except CheckpointError as e:
        os.remove(marker)
        if ckpt and osp.exists(ckpt):
            remove_checkpoint(ckpt)
        return (f'train_done.json was there but its checkpoint cannot be used ({e}); removed '
                'both, training resumes from the newest complete checkpoint')


def record_seconds(job: FoldJob, step: str, seconds: float) -> None:
    """Add one step's seconds to ``fold.json``."""
    info = read_fold_info(job.work_dir)
    info.setdefault('seconds', {})[step] = seconds
    atomic_write_json(osp.join(job.work_dir, FOLD_INFO), info)


def record_process(job: FoldJob, step: str, record: Dict) -> None:
    """How the process of one step computes (CPU, kernel path, pins: ``mer_clip.utils.
    reproducible.process_record``) into ``fold.json``, for summary.json."""
    os.makedirs(job.work_dir, exist_ok=True)
    info = read_fold_info(job.work_dir)
    info.setdefault('processes', {})[step] = record
    atomic_write_json(osp.join(job.work_dir, FOLD_INFO), info)


def read_fold_info(work_dir: str) -> Dict:
    path = osp.join(work_dir, FOLD_INFO)
    if not osp.exists(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise FoldFailed(f'{path}: cannot be read ({e}); it records the fold\'s seed, step '
                         'seconds and tested checkpoint: delete it (the report then takes the '
                         'seed from loso_run.json), or delete the fold folder to run the fold '
                         'again') from None


def finish_fold(job: FoldJob) -> None:
    """After the fold's last test: ``fold.json`` (identity, seed, tested checkpoint and whether
    it is kept, seconds per step, fold mode), then the checkpoints ``keep_checkpoints`` says to
    drop are deleted: 'tested' keeps the tested one (the last epoch's is weights-only, written so
    once: a B/16 one is 0.63 GiB instead of 2.14, and CAS(ME)^3 has 100 folds), 'none' none."""
    ckpt = tested_checkpoint(job)
    info = read_fold_info(job.work_dir)
    info.update(fold=job.name, fold_key=job.fold_key, held_out=job.held_out, seed=job.seed,
                seconds=info.get('seconds', {}), fold_mode=job.fold_mode,
                checkpoint=osp.relpath(ckpt, osp.dirname(job.work_dir)),
                checkpoint_kept=job.keep_checkpoints != 'none')
    atomic_write_json(osp.join(job.work_dir, FOLD_INFO), info)
    if job.keep_checkpoints == 'all':
        return
    keep = osp.abspath(ckpt) if job.keep_checkpoints == 'tested' else None
    for path in glob.glob(osp.join(job.work_dir, '*.pth')):
        if osp.abspath(path) != keep:
            remove_checkpoint(path)
    if keep is None:  # nothing left for mmengine to resume from
        pointer = osp.join(job.work_dir, 'last_checkpoint')
        if osp.exists(pointer):
            os.remove(pointer)


def retire_fold(job: FoldJob, to_dir: str, training: bool) -> None:
    """Move a fold's results out of the way (into ``to_dir/fold_<value>``, nothing deleted):
    everything when its training set changed, only its predictions and fold.json otherwise."""
    if not osp.isdir(job.work_dir):
        return
    dest = osp.join(to_dir, osp.basename(job.work_dir))
    os.makedirs(dest, exist_ok=True)
    names = os.listdir(job.work_dir) if training else [
        n for n in os.listdir(job.work_dir) if n.startswith('predictions') or n == FOLD_INFO]
    for name in names:
        if name != JOB_FILE:
            os.replace(osp.join(job.work_dir, name), osp.join(dest, name))


def format_seconds(seconds: Dict[str, float]) -> str:
    """``{'train': 22.2, 'test': 2.2}`` -> ``'train 22.2s, test 2.2s'`` (a fold's steps)."""
    return ', '.join(f'{k} {v:.1f}s' for k, v in seconds.items())


__all__ = ['FoldFailed', 'check_trained', 'final_checkpoint', 'finish_fold', 'format_seconds',
           'is_done',
           'is_trained', 'mark_trained', 'pending_steps', 'prediction_file', 'read_fold_info',
           'record_seconds', 'retire_fold', 'tested_checkpoint']
