"""LOSO / fixed-split experiments: fold jobs, their plan, the fold slots that run them, pooled
reports and figures (layout: docs/design.md)."""
from .fold_files import FoldFailed  # noqa: F401
from .fold_job import FoldJob  # noqa: F401
from .folds import FoldList, detect_folds, fold_dirname, select_subjects  # noqa: F401
from .plan import (CHECKPOINT_RULE_LAST, CHECKPOINT_RULE_UNSAFE, DataChanged,  # noqa: F401
                   LOSOPlan, RunStateMismatch)
from .reports import (PoolingError, check_pooling, config_hash, summary_markdown,  # noqa: F401
                      write_reports)
from .runner import LOSOExperiment  # noqa: F401
from .scheduler import parse_device_groups  # noqa: F401
from .summary import (LOSOSummary, SummaryError, build_summary, metrics_block,  # noqa: F401
                      per_fold_table)
