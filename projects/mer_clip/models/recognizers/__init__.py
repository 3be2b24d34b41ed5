from .mer_clip import MERCLIP  # noqa: F401
