from .mer_uniformerv2 import MERUniFormerV2  # noqa: F401
