from .config import DATASET_WRAPPERS, inner_dataset_cfg, set_loso_subject  # noqa: F401
