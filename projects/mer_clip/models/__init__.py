from . import backbones, data_preprocessors, heads, losses, recognizers, text  # noqa: F401
