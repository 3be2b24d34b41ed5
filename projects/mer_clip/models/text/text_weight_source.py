"""Where a CLIP text tower's weights come from, and so which MLP activation they were trained with.

CLIP text towers of the same shape were trained with two activations: OpenAI's CLIP with QuickGELU
(``x * sigmoid(1.702 x)``), open_clip's LAION models with GELU. The weights load into either (same
keys and shapes) and then silently compute something else, so the activation must follow the file.
What can be established, and how:

- **OpenAI's CLIP archive** (``ViT-B-16.pt``, TorchScript): its state dict carries the integer
  entries ``input_resolution``, ``context_length`` and ``vocab_size``, which no other trainer
  writes. QuickGELU (OpenAI's ``clip/model.py``).
- **ViCLIP** (InternVideo's ``ViCLIP-B_InternVid-FLT-10M.pth``, the MER-CLIP authors' text tower):
  the text tower under ``text_encoder.`` next to a ``vision_encoder.``. QuickGELU: ViCLIP's text
  blocks (InternVideo ``viclip/viclip_text.py``, ``ResidualAttentionBlock``) are OpenAI's CLIP
  text blocks, ``("gelu", QuickGELU())``.
- **open_clip LAION** (``.bin`` / ``.safetensors`` / state dicts): the file does not say; its path
  does when it names ``laion`` (open_clip's and Hugging Face's names, e.g.
  ``CLIP-ViT-B-16-laion2B-s34B-b88K``). GELU (open_clip's non-``quickgelu`` model configs). A path
  naming ``openai`` (open_clip's conversion of OpenAI's weights) means QuickGELU.
- **Anything else** (a renamed file, a file naming both): not knowable; the config's
  ``quick_gelu`` (or the arch's default) is used, and the load line says so.
"""
import re
from dataclasses import dataclass
from typing import Dict, Optional

import torch

#: entries of OpenAI's CLIP archives that no other trainer writes
OPENAI_ARCHIVE_KEYS = ('input_resolution', 'context_length', 'vocab_size')


@dataclass(frozen=True)
class TextWeightSource:
    """What a weight file is: ``name``, its activation (``quick_gelu``; None: not knowable) and
    the ``evidence`` it was established from."""
    name: str
    quick_gelu: Optional[bool]
    evidence: str

    @property
    def activation(self) -> str:
        return {True: 'QuickGELU', False: 'GELU', None: 'unknown'}[self.quick_gelu]


def identify_text_weights(path: str, state: Dict[str, torch.Tensor],
                          prefix: str) -> TextWeightSource:
    """The source of the text tower found under ``prefix`` in ``state`` (read from ``path``)."""
    if prefix == '' and all(k in state for k in OPENAI_ARCHIVE_KEYS):
        return TextWeightSource('OpenAI CLIP archive', True,
                                f'entries {", ".join(OPENAI_ARCHIVE_KEYS)}')
    if prefix.endswith('text_encoder.'):
        vision = prefix[:-len('text_encoder.')] + 'vision_encoder.'
        if any(k.startswith(vision) for k in state):
            return TextWeightSource('ViCLIP', True, f'keys {prefix}* next to {vision}*')
    name = path.lower()
    laion = re.search(r'laion', name) is not None
    openai = re.search(r'openai', name) is not None
    if laion and not openai:
        return TextWeightSource('open_clip LAION', False, "its path names 'laion'")
    if openai and not laion:
        return TextWeightSource('OpenAI CLIP (converted)', True, "its path names 'openai'")
    return TextWeightSource('unknown', None, 'neither its keys nor its path tell')


__all__ = ['OPENAI_ARCHIVE_KEYS', 'TextWeightSource', 'identify_text_weights']
