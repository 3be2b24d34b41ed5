"""Config helpers shared by the tools."""
import argparse
from typing import Optional, Sequence

from mmengine.config import DictAction

#: dataset wrappers whose inner dataset is the ME dataset
DATASET_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def inner_dataset_cfg(dataset_cfg: dict) -> dict:
    """The ME dataset's config inside any dataset wrappers (the same object, not a copy)."""
    while 'dataset' in dataset_cfg and dataset_cfg.get('type') in DATASET_WRAPPERS:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def set_loso_subject(cfg, subject) -> None:
    """Point every dataloader of ``cfg`` at the LOSO fold that holds out ``subject``.

    mmengine resolves config variables when the file is read, so overriding the top-level
    ``loso_subject`` variable afterwards would not reach the datasets; this sets the field itself.
    The subject case of :func:`mer_clip.datasets.protocol.set_fold`.
    """
    from mer_clip.datasets.protocol import set_fold
    set_fold(cfg, 'subject', subject)


def set_dataset_option(cfg, key: str, value) -> None:
    """Set ``key=value`` on the ME dataset of every dataloader of ``cfg`` (inside wrappers)."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is not None:
            inner_dataset_cfg(loader['dataset'])[key] = value


def parse_cfg_options(options: Optional[Sequence[str]]) -> dict:
    """``['a.b=1', 'c=[1,2]']`` -> dict, exactly as mmengine's ``DictAction`` parses them."""
    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return parser.parse_args(['--o', *options]).o


def apply_cfg_options(cfg, options: Optional[Sequence[str]]) -> None:
    """Merge ``--cfg-options key=value ...`` strings into ``cfg``.

    ``loso_subject=ID`` sets the held-out subject of every dataloader (:func:`set_loso_subject`;
    merging the top-level variable alone would reach no dataset, mmengine resolved it when the
    file was read), with ``ID`` kept verbatim (``006`` stays ``'006'``, not the number 6).
    """
    options = list(options or [])
    subject = None
    rest = []
    for opt in options:
        key, sep, value = opt.partition('=')
        if sep and key.strip() == 'loso_subject':
            subject = value.strip().strip('\'"')
        else:
            rest.append(opt)
    parsed = parse_cfg_options(rest)
    if parsed:
        cfg.merge_from_dict(parsed)
    if subject is not None:
        set_loso_subject(cfg, subject)
