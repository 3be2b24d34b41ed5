"""The config a tool runs: the file, ``--cfg-options``, the held-out fold and ``--strict``.

``tools/train.py``, ``tools/test.py`` and the LOSO runner (:mod:`mer_clip.loso`) read their config
through :func:`load_config`, so an option means the same in each of them; the two tools declare
those options with :func:`add_config_arguments` and read them with :func:`config_from_args`.
:func:`load_config` also validates the config before anything trains
(:func:`~mer_clip.apis.config_check.check_config`: misspelt keys, the head's class count).
"""
import argparse
import os
import os.path as osp
from typing import Any, Optional, Sequence

from mmengine.config import Config

from ..datasets.protocol import apply_fold, set_fold
from ..utils.config import parse_cfg_options, set_dataset_option
from .config_check import check_config


def apply_cfg_options(cfg, options: Optional[Sequence[str]]) -> None:
    """Merge ``--cfg-options key=value ...`` strings into ``cfg``.

    ``loso_subject=ID`` sets the held-out subject of every dataloader (:func:`set_fold`; merging
    the top-level variable alone would reach no dataset, mmengine resolved it when the file was
    read), with ``ID`` kept verbatim (``006`` stays ``'006'``, not the number 6). ``framing=NAME``
    likewise sets the framing every dataloader's dataset expects (and the top-level variable).
    """
    subject = None
    rest = []
    for opt in options or []:
        key, sep, value = opt.partition('=')
        if sep and key.strip() == 'loso_subject':
            subject = value.strip().strip('\'"')
        else:
            rest.append(opt)
    parsed = parse_cfg_options(rest)
    if parsed:
        cfg.merge_from_dict(parsed)
    if 'framing' in parsed:
        set_dataset_option(cfg, 'framing', parsed['framing'])
    if subject is not None:
        set_fold(cfg, 'subject', subject)


def load_config(config: str, cfg_options: Optional[Sequence[str]] = None, *,
                loso_subject: Optional[Any] = None, fold_key: Optional[str] = None,
                held_out: Optional[Any] = None, strict_labels: bool = False,
                check: bool = True) -> Config:
    """``config`` with ``--cfg-options``, then the tools' fold options (``--loso-subject S`` or
    ``[--fold-key K] --held-out V``, :func:`~mer_clip.datasets.protocol.apply_fold`) and
    ``--strict`` (an unknown emotion label is an error) applied; with ``check``, validated
    (:func:`~mer_clip.apis.config_check.check_config`, a ``ConfigError`` naming the key)."""
    cfg = Config.fromfile(config)
    file_keys = list(cfg.keys())
    apply_cfg_options(cfg, cfg_options)
    apply_fold(cfg, loso_subject, fold_key, held_out)
    if strict_labels:
        set_dataset_option(cfg, 'strict_labels', True)
    if check:
        option_keys = [opt.partition('=')[0].split('.')[0].strip() for opt in cfg_options or []]
        check_config(cfg, source=config, file_keys=file_keys, option_keys=option_keys)
    return cfg


def add_config_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of tools/train.py and tools/test.py that choose the config they run: the fold,
    ``--cfg-options``, ``--strict``, ``--work-dir`` and the launcher."""
    parser.add_argument('--work-dir', help='the dir to save logs (and models); default '
                        'work_dirs/<config name>')
    parser.add_argument('--loso-subject', type=str, default=None,
                        help='hold out this subject (LOSO fold): sets loso_subject of the train, '
                        'val and test datasets')
    parser.add_argument('--fold-key', default=None,
                        help='record field that defines the folds, with --held-out: "dataset" '
                        '(leave-one-dataset-out), "subject" (= --loso-subject) or any field')
    parser.add_argument('--held-out', default=None,
                        help='hold out the samples whose --fold-key field (default: the '
                        "config's fold_key, else subject) has this value")
    parser.add_argument('--cfg-options', nargs='+',
                        help='override config settings, key=value (e.g. loso_subject=006)')
    parser.add_argument('--strict', action='store_true',
                        help='an emotion label that is no known emotion of the class scheme (a '
                        'typo) is an error instead of a warning')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """:func:`load_config` with the options of :func:`add_config_arguments`; also sets the
    launcher, the work dir and ``LOCAL_RANK`` (for launchers that pass ``--local-rank``)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = load_config(args.config, args.cfg_options, loso_subject=args.loso_subject,
                      fold_key=args.fold_key, held_out=args.held_out, strict_labels=args.strict)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


__all__ = ['add_config_arguments', 'apply_cfg_options', 'config_from_args', 'load_config']
