"""LOSO / fixed-split experiments: fold planning, resumable fold runner, pooled reports, figures."""
from .folds import Protocol, detect_protocol, fold_dirname, select_subjects  # noqa: F401
from .reports import (PoolingError, build_summary, check_pooling, config_hash,  # noqa: F401
                      headline, metrics_block, per_fold_table, summary_markdown, write_reports)
from .runner import (CHECKPOINT_RULE_LAST, CHECKPOINT_RULE_UNSAFE, Fold,  # noqa: F401
                     FoldFailed, LOSOExperiment, RunStateMismatch, parse_device_groups)
