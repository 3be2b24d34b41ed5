"""Config helpers shared by the tools."""

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
