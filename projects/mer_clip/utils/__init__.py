from .config import (DATASET_WRAPPERS, dataloader_datasets, inner_dataset_cfg,  # noqa: F401
                     parse_cfg_options, set_dataset_option)
