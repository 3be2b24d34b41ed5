"""Config helpers shared by the tools."""


def set_loso_subject(cfg, subject) -> None:
    """Point every dataloader of ``cfg`` at the LOSO fold that holds out ``subject``.

    mmengine resolves config variables when the file is read, so overriding the top-level
    ``loso_subject`` variable afterwards would not reach the datasets; this sets the field itself.
    """
    found = False
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader is None:
            continue
        dataset = loader['dataset']
        while 'dataset' in dataset and dataset.get('type') in (
                'RepeatDataset', 'ClassBalancedDataset'):  # wrapped datasets
            dataset = dataset['dataset']
        dataset['loso_subject'] = str(subject)
        found = True
    if not found:
        raise KeyError('the config has no train/val/test dataloader to set loso_subject on')
    cfg.loso_subject = str(subject)
