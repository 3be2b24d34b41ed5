"""Training and testing one config, inference, AU retrieval, safe model-zoo checkpoints and the
config a tool runs (validated before anything trains)."""
from .checkpoint import (CheckpointIntegrityError, UnsafeCheckpointError,  # noqa: F401
                         load_checkpoint_safe, publish_checkpoint, sha256_of)
from .config import apply_cfg_options, load_config  # noqa: F401
from .config_check import ConfigError, check_config  # noqa: F401
from .inference import (class_names, inference_me_clip, init_recognizer,  # noqa: F401
                        prepare_clip, retrieve_aus)
from .testing import format_metrics, test  # noqa: F401
from .training import apply_train_options, train  # noqa: F401
