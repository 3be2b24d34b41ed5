"""A renderer of synthetic micro-expressions: cartoon faces whose AUs move by a few pixels.

The real ME datasets are licensed and cannot ship with the code, so demos and tests run on faces
drawn here (:mod:`mer_clip.datasets.synthetic` writes them as a dataset). Subjects differ in face
shape, skin tone, hair line and the placement and size of eyes, brows, nose and mouth
(:mod:`.identity`); a clip moves the AUs of :data:`RENDERED_AUS` (:mod:`.actions`, named by what
they do) on one or both sides of the face (:mod:`.face`), over time and with nuisance motion
(:mod:`.clip`). Drawing is anti-aliased on a supersampled canvas (:mod:`.canvas`).

Sides follow FACS: ``L``/``R`` are the *subject's* left/right, i.e. the right/left half of the
image.
"""
from .actions import ACTION_OF_AU, RENDERED_AUS, FaceActions
from .clip import ClipSpec, render_clip, sample_clip_spec, supersampling, temporal_profile
from .face import draw_face, static_layers
from .identity import Identity, sample_identity

__all__ = ['ACTION_OF_AU', 'RENDERED_AUS', 'FaceActions', 'ClipSpec', 'render_clip',
           'sample_clip_spec', 'supersampling', 'temporal_profile', 'draw_face', 'static_layers',
           'Identity', 'sample_identity']
