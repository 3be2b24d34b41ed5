from .functional import confusion_matrix, mer_metrics  # noqa: F401
from .mer_metric import (MERMetric, NonFiniteScoreError, read_predictions_csv,  # noqa: F401
                         write_predictions_csv)
