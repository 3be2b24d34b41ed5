
from .codes import AUCode, AUParseError, parse_au_string  # noqa: F401
from .descriptions import (MERCLIP_WORDING, TABLE_II_AUS, AUDescription,  # noqa: F401
                           au_phrases, describe_au, get_au_description, known_aus, register_au)
from .prompts import (DEFAULT_TEMPLATE_INDICES, EMOTION_TEMPLATES, TEMPLATES,  # noqa: F401
                      au_key, au_prompt, au_sentence, emotion_prompt, normalize_au_list)
