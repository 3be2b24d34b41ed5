
from .emotion_transformer_head import EmotionTransformerHead  # noqa: F401
from .au_text_align_head import AUTextAlignHead  # noqa: F401
