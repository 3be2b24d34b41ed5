"""MER-CLIP for MMAction2: AU-guided vision-language alignment for micro-expression recognition.

``import mer_clip`` (or ``custom_imports = dict(imports=['mer_clip'])`` in a config) first applies the
stack workarounds of :mod:`mer_clip.compat`, then registers every component in MMAction2's registries.
"""
from . import compat

compat.apply()

from . import au, datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)
from .version import __version__  # noqa: E402,F401

__all__ = ['__version__']
