"""UniFormerV2 vision encoder of MER-CLIP (Sec. III-B, Eq. 3-4), on top of MMAction2's UniFormerV2.

MMAction2's :class:`~mmaction.models.backbones.UniFormerV2` already computes what the paper needs,
but returns only the fused vector. This subclass keeps its computation unchanged and exposes the
parts, captured with forward hooks on the last local UniBlock and the last global UniBlock:

- ``cls_local`` (B, C): the class token of the final local UniBlock, averaged over the T' frames.
- ``global`` (B, C): the video token of the final global UniBlock.
- ``fused`` (B, C): Eq. 3, ``F_g = LN(s(a) * cls_local + (1 - s(a)) * global)``. The learnable
  ``a`` is UniFormerV2's own ``transformer.balance`` parameter (one logit per channel, initialised
  to 0, so s(a) = 0.5), which the SSV2-pretrained checkpoint provides; ``LN`` is UniFormerV2's
  final ``transformer.norm``.
- ``local_tokens`` (B, T' * H' * W', C): the patch tokens of the final local UniBlock (Eq. 4),
  frame-major (token ``t * H'W' + h * W' + w``), before any norm; T' = frames / 2 with the
  temporal downsampling stem, H' = W' = input_resolution / patch_size. ``local_pool='time'``
  averages them over T' (B, H'W', C), ``'space'`` over H'W' (B, T', C).

Weights are read only from local files (``clip_pretrained`` for CLIP ViT visual weights,
``pretrained`` for a UniFormerV2 checkpoint such as the SSV2 one); MMAction2's URL-based CLIP
download is never used. Files are read by :mod:`mer_clip.checkpoint`; mismatching files raise an
error of its family (:class:`~mer_clip.checkpoint.CheckpointError`) naming the file and a few keys.
Known layouts: mmaction recognizers (``backbone.``), mmaction's CLIP-visual files (no prefix),
OpenAI / open_clip CLIP (``visual.``), the MER-CLIP authors' models (``vision_encoder.``), and
OpenGVLab's own UniFormerV2 files (``.pyth``: ``backbone.``, flat or in ``model_state``), whose
final LayerNorm ``transformer.proj.0`` is this model's ``transformer.norm`` (``proj.2``, their
classifier, is not used). Each load is one line of the run log
(:class:`~mer_clip.models.weight_load_report.WeightLoadReport`: file, sha256, tensors loaded,
every model tensor left at its initialisation, every file tensor unused).

Attention: the local UniBlocks call ``nn.MultiheadAttention(need_weights=False)``, which runs
PyTorch's scaled-dot-product attention; the global UniBlocks attend with a single query (the video
token), whose explicit softmax costs nothing worth replacing.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmaction.models.backbones.uniformerv2 import UniFormerV2
from mmaction.registry import MODELS
from torch import Tensor

from ...checkpoint import CheckpointMismatchError, CheckpointNotFoundError, few_keys
from ...checkpoint import read_state_dict as _read_state_dict
from ..weight_load_report import WeightLoadReport

# The parts of UniFormerV2 that are a plain CLIP ViT: any vision checkpoint must provide them.
_VIT_KEY_STARTS = ('conv1.', 'class_embedding', 'positional_embedding', 'ln_pre.')
_VIT_BLOCK_PARTS = ('.attn.', '.ln_1.', '.mlp.', '.ln_2.')
# Prefixes under which the vision tower is stored in the checkpoints we know of: mmaction
# recognizers ('backbone.'), the MER-CLIP authors' models ('vision_encoder.'), OpenAI / open_clip
# CLIP ('visual.'), and none (mmaction's extracted clipVisualEncoder files).
_KNOWN_PREFIXES = ('backbone.', 'vision_encoder.', 'visual.', '')
# OpenGVLab's UniFormerV2 (the official .pyth files) -> mmaction's names, after the prefix
_OPENGVLAB_KEYS = {'transformer.proj.0.weight': 'transformer.norm.weight',
                   'transformer.proj.0.bias': 'transformer.norm.bias'}


def read_state_dict(path: str) -> Dict[str, Tensor]:
    """The state dict of a local ``.pth``/``.pt``/``.bin``/``.safetensors`` file or TorchScript
    archive (OpenAI's CLIP ``ViT-B-16.pt``), read by :mod:`mer_clip.checkpoint`. Never downloads."""
    if not isinstance(path, str) or '://' in path:
        raise CheckpointMismatchError(
            f'{path!r}: MERUniFormerV2 only loads weights from local files (no download); '
            'download the checkpoint yourself and put its path in the config.')
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'Weight file not found: {path!r}. Set the checkpoint path variables at the top of the '
            'model config (see configs/_base_/models/mer_clip_uniformerv2_b16.py for where to '
            'obtain the files), or set them to None to start from random weights.')
    return _read_state_dict(path)


@MODELS.register_module()
class MERUniFormerV2(UniFormerV2):
    """UniFormerV2 that returns the MER-CLIP visual features (see the module docstring).

    Args:
        output (str): what ``forward`` returns: ``'fused_and_tokens'`` (default) a tuple
            ``(fused (B, C), local_tokens (B, N, C))``; ``'fused'`` the (B, C) tensor alone
            (identical to MMAction2's UniFormerV2 output, for a linear head on a stock
            recognizer); ``'all'`` a dict with ``fused``, ``cls_local``, ``global`` and
            ``local_tokens``.
        local_pool (str, optional): ``None`` keeps all T'*H'*W' local tokens, ``'time'`` averages
            over frames, ``'space'`` over positions.
        pretrained (str, optional): local UniFormerV2 checkpoint (e.g. SSV2-pretrained B/16), loaded
            after ``clip_pretrained``. Keys may carry ``backbone.`` / ``vision_encoder.`` prefixes.
        clip_pretrained (str | bool, optional): local CLIP ViT visual checkpoint (OpenAI ``.pt``,
            open_clip state dict, or mmaction's clipVisualEncoder file); the 2D patch embedding is
            inflated to 3D (centre frame) and the global UniBlocks keep their initialisation.
            ``True`` (MMAction2's download-by-name) is refused.
        **kwargs: the arguments of MMAction2's ``UniFormerV2`` (width, layers, heads, t_size, ...).
    """

    OUTPUTS = ('fused_and_tokens', 'fused', 'all')

    def __init__(self,
                 output: str = 'fused_and_tokens',
                 local_pool: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 clip_pretrained: Union[str, bool, None] = None,
                 **kwargs) -> None:
        if output not in self.OUTPUTS:
            raise ValueError(
                f'MERUniFormerV2: output must be one of {self.OUTPUTS}, got {output!r}')
        if local_pool not in (None, 'time', 'space'):
            raise ValueError(f"MERUniFormerV2: local_pool must be None, 'time' or 'space', "
                             f'got {local_pool!r}')
        if clip_pretrained is True or (isinstance(clip_pretrained, str)
                                       and clip_pretrained in ('ViT-B/16', 'ViT-L/14',
                                                               'ViT-L/14_336')):
            raise ValueError(
                'MERUniFormerV2 never downloads weights: set clip_pretrained to the path of a '
                'local CLIP ViT checkpoint file (or None), not True or a model name.')
        n_layers = kwargs.get('n_layers', 4)
        return_list = kwargs.get('return_list', [8, 9, 10, 11])
        if len(return_list) != n_layers:
            raise ValueError(f'MERUniFormerV2: n_layers ({n_layers}) must equal '
                             f'len(return_list) ({len(return_list)})')
        layers = kwargs.get('layers', 12)
        if max(return_list) >= layers:
            raise ValueError(f'MERUniFormerV2: return_list {list(return_list)} indexes a layer '
                             f'beyond layers={layers}')
        if kwargs.get('n_dim', 768) != kwargs.get('width', 768):
            raise ValueError('MERUniFormerV2: n_dim (global UniBlocks) must equal width (local '
                             'UniBlocks); UniFormerV2 feeds the local tokens to the global blocks')
        # The parent loads nothing by itself: clip_pretrained=False, pretrained=None.
        super().__init__(clip_pretrained=False, pretrained=None, **kwargs)
        self.output = output
        self.local_pool = local_pool
        self.mer_pretrained = pretrained
        self.mer_clip_pretrained = clip_pretrained or None
        self.patch_size = kwargs.get('patch_size', 16)
        self.out_channels = kwargs.get('n_dim', 768)
        self.t_down = self.transformer.T  # frames after the stem
        self._parts: Dict[str, Tensor] = {}
        self.load_reports: List[WeightLoadReport] = []  # one per weight file loaded
        self.transformer.resblocks[-1].register_forward_hook(self._keep_local)
        self.transformer.dec[-1].register_forward_hook(self._keep_global)

    # ------------------------------------------------------------------ Eq. 3 parameter
    @property
    def fusion_logit(self) -> torch.nn.Parameter:
        """``a`` of Eq. 3: UniFormerV2's per-channel ``transformer.balance``."""
        return self.transformer.balance

    # ------------------------------------------------------------------ hooks
    def _keep_local(self, module, args, out: Tensor) -> None:
        self._parts['local'] = out  # (1 + H'W', B*T', C)

    def _keep_global(self, module, args, out: Tensor) -> None:
        self._parts['global'] = out  # (1, B, C)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, Tensor], Dict[str, Tensor]]:
        """x: (B, 3, T, H, W) normalised frames."""
        self._check_input(x)
        self._parts = {}
        fused = super().forward(x)  # (B, C) = LN(s(a) * cls_local + (1 - s(a)) * global)
        local, glob = self._parts.pop('local'), self._parts.pop('global')
        self._parts = {}
        L, BT, C = local.shape
        B = BT // self.t_down
        local = local.view(L, B, self.t_down, C)
        cls_local = local[0].mean(1)  # (B, C)
        tokens = local[1:].permute(1, 2, 0, 3)  # (B, T', H'W', C)
        if self.local_pool == 'time':
            tokens = tokens.mean(1)  # (B, H'W', C)
        elif self.local_pool == 'space':
            tokens = tokens.mean(2)  # (B, T', C)
        else:
            tokens = tokens.reshape(B, self.t_down * (L - 1), C)  # (B, T'H'W', C)
        if self.output == 'fused':
            return fused
        if self.output == 'fused_and_tokens':
            return fused, tokens
        return {'fused': fused, 'cls_local': cls_local, 'global': glob[0],
                'local_tokens': tokens}

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 5 or x.size(1) != 3:
            raise ValueError(f'MERUniFormerV2 expects (B, 3, T, H, W) frames, got '
                             f'{tuple(x.shape)}; use format_shape="NCTHW"')
        frames = self.t_down * (2 if self.conv1.stride[0] == 2 else 1)
        if x.size(2) != frames or x.size(3) != self.input_resolution \
                or x.size(4) != self.input_resolution:
            raise ValueError(
                f'MERUniFormerV2 was built for {frames} frames of {self.input_resolution}x'
                f'{self.input_resolution} (t_size, input_resolution), got {tuple(x.shape[2:])}')

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Random init (UniFormerV2's init_cfg), then CLIP ViT weights, then UniFormerV2 weights."""
        super().init_weights()  # clip_pretrained=False: only the init_cfg initialisers run
        if self.mer_clip_pretrained:
            self.load_clip_vit(self.mer_clip_pretrained)
        if self.mer_pretrained:
            self.load_uniformerv2(self.mer_pretrained)

    def load_uniformerv2(self, path: str) -> WeightLoadReport:
        """Load a UniFormerV2 checkpoint (all of its matching keys; shapes must match)."""
        return self._load(path, kind='UniFormerV2')

    def load_clip_vit(self, path: str) -> WeightLoadReport:
        """Load CLIP ViT visual weights (patch embedding inflated to 3D; global blocks kept)."""
        return self._load(path, kind='CLIP ViT')

    def _load(self, path: str, kind: str) -> WeightLoadReport:
        src = read_state_dict(path)
        own = self.state_dict()
        prefix, mapped, origin = self._best_prefix(src, own)
        if not mapped:
            raise CheckpointMismatchError(
                f'{path!r} ({kind}) has no key that matches MERUniFormerV2. Keys in the file: '
                f'{few_keys(src)}; expected keys like {few_keys(own)} (optionally under one of the '
                f'prefixes {_KNOWN_PREFIXES[:-1]}).')
        required = [k for k in own if self._is_vit_key(k)]
        missing_vit = [k for k in required if k not in mapped]
        if missing_vit:
            raise CheckpointMismatchError(
                f'{path!r} ({kind}, prefix {prefix!r}) lacks {len(missing_vit)} of the '
                f'{len(required)} ViT weights of MERUniFormerV2, e.g. {few_keys(missing_vit)}. '
                f'Is it the right file? Keys in the file: {few_keys(src)}')
        notes = [f'prefix {prefix!r}']
        renamed = sorted(f'{origin[k]} -> {k}' for k in mapped if origin[k] != prefix + k)
        if renamed:
            notes.append("OpenGVLab's final LayerNorm mapped: " + ', '.join(renamed))
        bad_shapes = []
        for k, v in list(mapped.items()):
            target = own[k].shape
            if v.shape == target:
                continue
            if k == 'conv1.weight' and v.dim() == 4 and len(target) == 5 \
                    and v.shape == target[:2] + target[3:]:
                mapped[k] = self._inflate_weight(v, target[2]).to(v.dtype)
                notes.append(f'inflated {k} {tuple(v.shape)} -> {tuple(target)} (centre frame)')
            elif k == 'positional_embedding' and v.dim() == 2 and v.shape[1] == target[1]:
                mapped[k] = self._resize_pos_embed(v, target[0])
                notes.append(f'resized {k} {tuple(v.shape)} -> {tuple(target)} (bicubic)')
            else:
                bad_shapes.append(f'{k}: file {tuple(v.shape)} vs model {tuple(target)}')
        if bad_shapes:
            raise CheckpointMismatchError(
                f'{path!r} ({kind}) does not fit this MERUniFormerV2 configuration '
                f'(width/layers/patch_size/kernel_size?): {"; ".join(bad_shapes[:5])}'
                + (f' ... ({len(bad_shapes)} in all)' if len(bad_shapes) > 5 else ''))
        dtypes = sorted({str(v.dtype).replace('torch.', '') for v in mapped.values()
                         if v.is_floating_point()})
        self.load_state_dict(mapped, strict=False)
        notes.append(f'file dtype {"/".join(dtypes)}, loaded as '
                     f'{str(self.conv1.weight.dtype).replace("torch.", "")}')
        used = set(origin.values())
        report = WeightLoadReport(
            f'MERUniFormerV2 ({kind})', path, total=len(own), loaded=sorted(mapped),
            missing=[k for k in own if k not in mapped],
            unused=sorted(k for k in src if k not in used), notes=notes)
        report.log()
        self.load_reports.append(report)
        return report

    @staticmethod
    def _is_vit_key(key: str) -> bool:
        if key.startswith(_VIT_KEY_STARTS):
            return True
        return key.startswith('transformer.resblocks.') and any(p in key for p in _VIT_BLOCK_PARTS)

    @staticmethod
    def _best_prefix(src: Dict[str, Tensor], own: Dict[str, Tensor]
                     ) -> Tuple[str, 'OrderedDict[str, Tensor]', Dict[str, str]]:
        """Strip the known prefix (after an optional 'module.') that matches most model keys.

        Returns ``(prefix, model key -> tensor, model key -> file key)``. OpenGVLab's UniFormerV2
        keeps its final LayerNorm as ``transformer.proj.0`` (``proj`` = LayerNorm, Dropout,
        Linear classifier); mmaction's, and this model's, is ``transformer.norm``: mapped.
        """
        best_prefix, best, best_origin = '', OrderedDict(), {}
        for outer in ('module.', ''):
            for prefix in _KNOWN_PREFIXES:
                full = outer + prefix
                mapped, origin = OrderedDict(), {}
                for k, v in src.items():
                    if not k.startswith(full):
                        continue
                    key = k[len(full):]
                    if key not in own and key in _OPENGVLAB_KEYS \
                            and full + _OPENGVLAB_KEYS[key] not in src:  # a norm of its own wins
                        key = _OPENGVLAB_KEYS[key]
                    if key in own:
                        mapped[key], origin[key] = v, k
                if len(mapped) > len(best):
                    best_prefix, best, best_origin = full, mapped, origin
        return best_prefix, best, best_origin

    @staticmethod
    def _resize_pos_embed(pos: Tensor, num_tokens: int) -> Tensor:
        """Bicubic resize of a (1 + g*g, C) positional embedding to another grid."""
        cls_pos, grid_pos = pos[:1], pos[1:]
        old, new = int(round(grid_pos.size(0) ** 0.5)), int(round((num_tokens - 1) ** 0.5))
        grid = grid_pos.reshape(1, old, old, -1).permute(0, 3, 1, 2).float()
        grid = F.interpolate(grid, size=(new, new), mode='bicubic', align_corners=False)
        grid = grid.permute(0, 2, 3, 1).reshape(new * new, -1).to(pos.dtype)
        return torch.cat([cls_pos, grid], dim=0)


__all__: List[str] = ['MERUniFormerV2', 'CheckpointMismatchError', 'read_state_dict']
