
from .clip_text_encoder import CLIPTextEncoder, load_text_tower_state  # noqa: F401
