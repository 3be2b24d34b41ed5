
from .local_static_face_mix import LocalStaticFaceMix  # noqa: F401
