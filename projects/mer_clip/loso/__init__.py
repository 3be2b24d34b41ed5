"""LOSO / fixed-split experiments: fold planning, resumable fold runner, pooled reports, figures."""
from .folds import Protocol, detect_protocol, fold_dirname, select_subjects  # noqa: F401
from .reports import (PoolingError, check_pooling, config_hash, summary_markdown,  # noqa: F401
                      write_reports)
from .runner import (CHECKPOINT_RULE_LAST, CHECKPOINT_RULE_UNSAFE, Fold,  # noqa: F401
                     FoldFailed, LOSOExperiment, RunStateMismatch, parse_device_groups)
from .summary import (LOSOSummary, SummaryError, build_summary, metrics_block,  # noqa: F401
                      per_fold_table)
