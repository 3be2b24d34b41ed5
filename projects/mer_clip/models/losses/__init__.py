from .focal_loss import SoftmaxFocalLoss  # noqa: F401
