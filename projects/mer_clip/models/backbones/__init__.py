from .mer_uniformerv2 import MERUniFormerV2  # noqa: F401
from .ststnet import STSTNet  # noqa: F401
from .off_apexnet import OFFApexNet  # noqa: F401
from .feature_map_tokens import FeatureMapTokens  # noqa: F401
