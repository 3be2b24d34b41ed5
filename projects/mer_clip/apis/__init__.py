"""Inference, AU retrieval and safe model-zoo checkpoints."""
from .checkpoint import (CheckpointHashError, UnsafeCheckpointError,  # noqa: F401
                         load_checkpoint_safe, publish_checkpoint, sha256_of, verify_hash)
from .inference import (class_names, inference_me_clip, init_recognizer,  # noqa: F401
                        prepare_clip, retrieve_aus)
