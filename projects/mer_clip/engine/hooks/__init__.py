from .check_invalid_loss_hook import CheckInvalidLossHook, NonFiniteLossError  # noqa: F401
from .checkpoint_contents_hook import (CheckpointContentsHook,  # noqa: F401
                                       with_checkpoint_contents_hook)
from .progressive_loss_hook import ProgressiveLossHook, progressive_weights  # noqa: F401
from .rng_state_hook import RNGStateHook  # noqa: F401
