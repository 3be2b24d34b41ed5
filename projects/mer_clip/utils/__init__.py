from .config import set_loso_subject  # noqa: F401
