from .functional import confusion_matrix, mer_metrics  # noqa: F401
from .mer_metric import MERMetric, read_predictions_csv, write_predictions_csv  # noqa: F401
