from . import transforms  # noqa: F401
from .class_schemes import CLASS_SCHEMES, ClassScheme, get_class_scheme  # noqa: F401
from .me_dataset import MicroExpressionDataset  # noqa: F401
