"""One fold as a small serialisable job: what to train, on which fold, and where.

A :class:`FoldJob` is all a process needs to train and test one fold of a LOSO (or fixed-split)
experiment: the config file and its options, the fold's identity ``(fold_key, held_out)``, its
work dir and seed, and the checkpoint rule. The LOSO runner writes one per fold
(``fold_<value>/fold_job.json``); the in-process worker, the subprocess mode, torchrun's ranks and a
Slurm array task all run the same job through :mod:`.fold_steps`::

    python -m mer_clip.loso fold work_dirs/x/fold_s01/fold_job.json

The job builds its config once (:meth:`FoldJob.base_config`): the file, ``cfg_options``, the
held-out fold and ``strict_labels``, exactly as
``tools/train.py --cfg-options ... --loso-subject S`` reads it; the train and test configs are
copies of it with their own settings.
"""
import copy
import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from ..apis.config import load_config
from ..apis.training import apply_train_options
from ..utils.atomic_write import atomic_write_json
from ..utils.config import parse_cfg_options

JOB_FILE = 'fold_job.json'
#: checkpoint rules: the last epoch, or (UNSAFE, the authors' protocol) the best on the test fold
RULE_LAST = 'last'
RULE_BEST_ON_TEST_FOLD = 'best_on_test_fold_UNSAFE'
#: what a finished fold keeps: its tested (weights-only) checkpoint, every one, or none
KEEP_CHECKPOINTS = ('tested', 'all', 'none')


@dataclass
class FoldJob:
    """One training and its test(s).

    ``held_out``: the value of ``fold_key`` this fold holds out (its subject for LOSO), None for
    the single fold of a fixed-split dataset, whose ``tests`` are its test split names (a LOSO
    fold has ``tests=[None]``: the held-out samples). ``cfg_options`` apply to training and
    testing, ``train_options`` to training only (the fixed-split loaders, the UNSAFE save_best).
    """
    config: str
    work_dir: str
    seed: int
    fold_key: str = 'subject'
    held_out: Optional[str] = None
    tests: List[Optional[str]] = field(default_factory=lambda: [None])
    cfg_options: List[str] = field(default_factory=list)
    train_options: List[str] = field(default_factory=list)
    strict_labels: bool = False
    checkpoint_rule: str = RULE_LAST
    keep_checkpoints: str = 'tested'
    fold_mode: str = 'subprocess'
    cwd: Optional[str] = None  # relative paths in the config and options are relative to this
    reproducible: bool = False  # every step in a pinned process (mer_clip.utils.reproducible)

    def __post_init__(self):
        self._config = None
        if self.checkpoint_rule not in (RULE_LAST, RULE_BEST_ON_TEST_FOLD):
            raise ValueError(f'checkpoint_rule must be {RULE_LAST!r} or '
                             f'{RULE_BEST_ON_TEST_FOLD!r}, got {self.checkpoint_rule!r}')
        if self.keep_checkpoints not in KEEP_CHECKPOINTS:
            raise ValueError(f'keep_checkpoints must be one of {KEEP_CHECKPOINTS}, got '
                             f'{self.keep_checkpoints!r}')

    @property
    def name(self) -> str:
        """The fold's name: its held-out value, ``fixed_split`` for a fixed-split dataset."""
        return 'fixed_split' if self.held_out is None else self.held_out

    @property
    def held_out_subject(self) -> Optional[str]:
        """The subject a LOSO fold holds out (None for other fold keys and fixed splits)."""
        return self.held_out if self.fold_key == 'subject' else None

    # ------------------------------------------------------------------------------ the file
    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, where: str = 'fold job') -> 'FoldJob':
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - names)
        missing = sorted(k for k in ('config', 'work_dir', 'seed') if k not in data)
        if unknown or missing:
            raise ValueError(f'{where}: not a fold job of this version of mer_clip (unknown keys '
                             f'{unknown}, missing {missing}); run tools/loso.py again to write it')
        return cls(**data)

    def save(self, path: Optional[str] = None) -> str:
        """Write the job (atomically) to ``path``, default ``work_dir/fold_job.json``."""
        return atomic_write_json(path or osp.join(self.work_dir, JOB_FILE), self.to_json())

    @classmethod
    def load(cls, path: str) -> 'FoldJob':
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f'{path}: cannot read the fold job ({e}); run tools/loso.py again '
                             'to write it') from None
        return cls.from_json(data, where=path)

    # ------------------------------------------------------------------------------ configs
    def base_config(self):
        """The fold's config, built once: file, ``cfg_options``, held-out fold, strict labels."""
        if self._config is None:
            self._config = load_config(self.config_path, self.cfg_options,
                                       fold_key=None if self.held_out is None else self.fold_key,
                                       held_out=self.held_out, strict_labels=self.strict_labels)
        return self._config

    @property
    def config_path(self) -> str:
        if self.cwd and not osp.isabs(self.config):
            return osp.join(self.cwd, self.config)
        return self.config

    def train_config(self, launcher: str = 'none'):
        """The config ``tools/train.py CONFIG --work-dir W --seed S --resume`` would train, its
        last checkpoint weights-only (``final_checkpoint_weights_only``: the fold is tested on it
        and trains no further; the optimizer stays only in the checkpoints it resumes from)."""
        cfg = copy.deepcopy(self.base_config())
        if self.train_options:
            cfg.merge_from_dict(parse_cfg_options(self.train_options))
        cfg.launcher = launcher
        cfg.work_dir = self.work_dir
        cfg.final_checkpoint_weights_only = True
        return apply_train_options(cfg, resume='auto', seed=self.seed)

    def test_config(self, split: Optional[str] = None):
        """The config ``tools/test.py`` would test split ``split`` (None: the held-out fold) on."""
        cfg = copy.deepcopy(self.base_config())
        if split is not None:
            cfg.merge_from_dict(parse_cfg_options([f'test_dataloader.dataset.split={split}']))
        cfg.launcher = 'none'
        cfg.work_dir = osp.join(self.work_dir, 'test')
        return cfg

    def max_epochs(self) -> int:
        """The last epoch (iteration, for an iteration-based schedule) of this fold's training."""
        train_cfg = self.base_config().get('train_cfg') or {}
        return train_cfg.get('max_iters' if 'max_iters' in train_cfg else 'max_epochs')

    def by_epoch(self) -> bool:
        return 'max_iters' not in (self.base_config().get('train_cfg') or {})


__all__ = ['FoldJob', 'JOB_FILE', 'KEEP_CHECKPOINTS', 'RULE_BEST_ON_TEST_FOLD', 'RULE_LAST']
