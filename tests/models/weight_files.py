"""Fabricated weight files in the official containers (same layout, tiny sizes, random values).

- OpenAI's CLIP archive (``ViT-B-16.pt``): a TorchScript archive, every float tensor float16, plus
  the integer entries ``input_resolution``, ``context_length``, ``vocab_size``.
- open_clip: a plain state dict (``.bin``: ``torch.save``; ``.safetensors``).
- ViCLIP (InternVideo's ``ViCLIP-B_InternVid-FLT-10M.pth``): ``{'model': ...}``, text tower under
  ``text_encoder.`` with 32 positions, vision tower under ``vision_encoder.``, ``temp``.
- OpenGVLab's UniFormerV2 (``.pyth``): ``backbone.`` keys, flat or in ``model_state``; the final
  LayerNorm as ``transformer.proj.0``, the classifier as ``transformer.proj.2``.
- mmaction: a recognizer checkpoint (K710: ``state_dict`` with ``backbone.`` and ``cls_head.``) and
  the CLIP-visual file (flat CLIP ViT keys).
"""
from typing import Dict

import open_clip
import torch

# a tiny CLIP: text tower width 32 (2 layers), vision tower = the tiny MERUniFormerV2's ViT part
# (width 64, 4 layers, 2 heads, patch 8, 32 px; tests/models/tiny.py)
TEXT_CFG = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2)
TEXT_ARCH = dict(embed_dim=24, **TEXT_CFG)
VISION_CFG = dict(image_size=32, layers=4, width=64, head_width=32, patch_size=8)
OPENAI_ENTRIES = dict(input_resolution=32, context_length=77, vocab_size=49408)


def tiny_clip(quick_gelu: bool, seed: int = 0) -> open_clip.model.CLIP:
    torch.manual_seed(seed)
    return open_clip.model.CLIP(embed_dim=24, text_cfg=TEXT_CFG, vision_cfg=VISION_CFG,
                                quick_gelu=quick_gelu).eval()


class _Holder(torch.nn.Module):
    """A module tree with given tensors at given names (nothing else), to script and save."""


def save_torchscript(state: Dict[str, torch.Tensor], path: str) -> str:
    root = _Holder()
    for name, tensor in state.items():
        *parents, leaf = name.split('.')
        module = root
        for part in parents:
            if not hasattr(module, part):
                module.add_module(part, _Holder())
            module = getattr(module, part)
        if tensor.is_floating_point():
            module.register_parameter(leaf, torch.nn.Parameter(tensor, requires_grad=False))
        else:
            module.register_buffer(leaf, tensor)
    torch.jit.save(torch.jit.script(root), path)
    return path


def openai_archive(path: str, model: open_clip.model.CLIP) -> Dict[str, torch.Tensor]:
    """Save ``model`` as OpenAI's CLIP archive does; returns the saved (float16) state dict."""
    state = {k: v.half() for k, v in model.state_dict().items()}
    state.update({k: torch.tensor(v) for k, v in OPENAI_ENTRIES.items()})
    save_torchscript(state, path)
    return state


def viclip_file(path: str, seed: int = 0, positions: int = 32) -> Dict[str, torch.Tensor]:
    """A ViCLIP checkpoint: ``{'model': ...}`` with a 32-position QuickGELU text tower."""
    from open_clip.model import _build_text_tower
    torch.manual_seed(seed)
    text = _build_text_tower(24, dict(TEXT_CFG, context_length=positions), quick_gelu=True)
    vision = open_clip.model.CLIP(embed_dim=24, text_cfg=TEXT_CFG, vision_cfg=VISION_CFG).visual
    model = {f'text_encoder.{k}': v for k, v in text.state_dict().items()}
    model.update({f'vision_encoder.{k}': v for k, v in vision.state_dict().items()})
    model['temp'] = torch.tensor(0.01)
    torch.save({'model': model}, path)
    return model


def opengvlab_state(state: Dict[str, torch.Tensor], num_classes: int = 174
                    ) -> Dict[str, torch.Tensor]:
    """A MERUniFormerV2 state dict in OpenGVLab's names (``backbone.``, ``transformer.proj``)."""
    out = {}
    for key, value in state.items():
        if key.startswith('transformer.norm.'):
            key = 'transformer.proj.0.' + key[len('transformer.norm.'):]
        out['backbone.' + key] = value
    width = state['transformer.norm.weight'].shape[0]
    out['backbone.transformer.proj.2.weight'] = torch.randn(num_classes, width)
    out['backbone.transformer.proj.2.bias'] = torch.zeros(num_classes)
    return out
