"""The config a tool runs: the file, ``--cfg-options``, the held-out fold and ``--strict``.

``tools/train.py``, ``tools/test.py`` and the LOSO runner (:mod:`mer_clip.loso`) read their config
through :func:`load_config`, so an option means the same in each of them.
"""
from typing import Any, Optional, Sequence

from mmengine.config import Config

from ..datasets.protocol import apply_fold, set_fold
from ..utils.config import parse_cfg_options, set_dataset_option


def apply_cfg_options(cfg, options: Optional[Sequence[str]]) -> None:
    """Merge ``--cfg-options key=value ...`` strings into ``cfg``.

    ``loso_subject=ID`` sets the held-out subject of every dataloader (:func:`set_fold`; merging
    the top-level variable alone would reach no dataset, mmengine resolved it when the file was
    read), with ``ID`` kept verbatim (``006`` stays ``'006'``, not the number 6).
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
    if subject is not None:
        set_fold(cfg, 'subject', subject)


def load_config(config: str, cfg_options: Optional[Sequence[str]] = None, *,
                loso_subject: Optional[Any] = None, fold_key: Optional[str] = None,
                held_out: Optional[Any] = None, strict_labels: bool = False) -> Config:
    """``config`` with ``--cfg-options``, then the tools' fold options (``--loso-subject S`` or
    ``[--fold-key K] --held-out V``, :func:`~mer_clip.datasets.protocol.apply_fold`) and
    ``--strict`` (an unknown emotion label is an error) applied."""
    cfg = Config.fromfile(config)
    apply_cfg_options(cfg, cfg_options)
    apply_fold(cfg, loso_subject, fold_key, held_out)
    if strict_labels:
        set_dataset_option(cfg, 'strict_labels', True)
    return cfg


__all__ = ['apply_cfg_options', 'load_config']
