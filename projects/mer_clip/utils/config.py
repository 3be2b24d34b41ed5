"""The ME dataset inside a config's dataloaders, and ``--cfg-options`` as mmengine parses them.

Plain config access, below every other module of the package: :mod:`mer_clip.datasets.protocol`
points the datasets at a fold through :func:`dataloader_datasets`, and :mod:`mer_clip.apis.config`
loads the config a tool runs.
"""
import argparse
from typing import Iterator, Optional, Sequence

from mmengine.config import DictAction

#: dataset wrappers whose inner dataset is the ME dataset
DATASET_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')
#: the dataloaders of a train / test config, in this order
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def inner_dataset_cfg(dataset_cfg: dict) -> dict:
    """The ME dataset's config inside any dataset wrappers (the same object, not a copy)."""
    while 'dataset' in dataset_cfg and dataset_cfg.get('type') in DATASET_WRAPPERS:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def dataloader_datasets(cfg) -> Iterator[dict]:
    """The ME dataset config (inside wrappers) of every dataloader ``cfg`` has, to edit in place."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader is not None:
            yield inner_dataset_cfg(loader['dataset'])


def set_dataset_option(cfg, key: str, value) -> None:
    """Set ``key=value`` on the ME dataset of every dataloader of ``cfg`` (inside wrappers)."""
    for dataset in dataloader_datasets(cfg):
        dataset[key] = value


def parse_cfg_options(options: Optional[Sequence[str]]) -> dict:
    """``['a.b=1', 'c=[1,2]']`` -> dict, exactly as mmengine's ``DictAction`` parses them."""
    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return parser.parse_args(['--o', *options]).o
