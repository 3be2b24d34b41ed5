from .focal_loss import SoftmaxFocalLoss  # noqa: F401
from .contrastive_loss import contrastive_loss  # noqa: F401
