"""mer_clip.utils.config: the ME dataset inside a config's dataloaders."""
from mmengine.config import ConfigDict

from mer_clip.utils.config import dataloader_datasets, set_dataset_option


def test_dataloader_datasets_reach_inside_wrappers():
    inner = dict(type='MicroExpressionDataset', loso_subject=None)
    cfg = ConfigDict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2, dataset=dict(
            type='ClassBalancedDataset', dataset=inner))),
        test_dataloader=dict(dataset=dict(type='MicroExpressionDataset')))
    assert [d['type'] for d in dataloader_datasets(cfg)] == ['MicroExpressionDataset'] * 2
    set_dataset_option(cfg, 'strict_labels', True)
    assert cfg.train_dataloader.dataset.dataset.dataset.strict_labels is True
    assert cfg.test_dataloader.dataset.strict_labels is True
    assert 'strict_labels' not in cfg.train_dataloader.dataset  # the wrappers are left alone
