from .config import (DATASET_WRAPPERS, apply_cfg_options, inner_dataset_cfg,  # noqa: F401
                     parse_cfg_options, set_dataset_option, set_loso_subject)
