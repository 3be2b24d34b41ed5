"""MER-CLIP for MMAction2: AU-guided vision-language alignment for micro-expression recognition.

``import mer_clip`` (or ``custom_imports = dict(imports=['mer_clip'])`` in a config) first applies the
stack workarounds of :mod:`mer_clip.compat` (and, in a process of a reproducible run, checks its
pins and applies the mode's torch settings: :mod:`mer_clip.utils.reproducible`), then registers
every component in MMAction2's registries.
"""
from . import compat

compat.apply()

from .utils.reproducible import activate_from_environ  # noqa: E402

activate_from_environ()  # a process of a reproducible run: its pins checked, torch set

from . import au, datasets, engine, evaluation, models  # noqa: E402,F401  (registers components)
from .version import __version__  # noqa: E402,F401

__all__ = ['__version__']
