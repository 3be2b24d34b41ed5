"""CLIP text encoder (open_clip's text tower), frozen by default, with a cache of encoded prompts.

MER-CLIP encodes its AU prompts with a frozen CLIP text encoder. The prompts form a finite set (AU
combinations x templates), so once a prompt is encoded its feature never changes: the frozen
encoder keeps a table ``text -> feature`` (a tensor on the module's device, per process, plus an
index dict), encodes only prompts it has not seen, and otherwise looks features up per sample. The
text branch thus costs one table lookup per step. A prompt is encoded on its own, so its cached
feature is bit-for-bit the same whatever batch it first appeared in (on every rank, and after a
resume, which starts with an empty cache). Unfrozen, every call encodes (and back-propagates).

Weights come from a local file only (never downloaded): an open_clip checkpoint (``state_dict``,
``.bin``, ``.pt``, ``.safetensors``, a training checkpoint with ``state_dict``/``module.``), an
OpenAI CLIP TorchScript archive, or any checkpoint whose text tower sits under a prefix (``text.``
for open_clip's CustomTextCLIP, ``text_encoder.`` for ViCLIP, a whole MER-CLIP checkpoint). Only
the text tower's keys are read (files are read by :mod:`mer_clip.checkpoint`); a missing file, a
file without a text tower or with non-matching keys/shapes raises an error of its family
(:class:`~mer_clip.checkpoint.CheckpointError`) naming the file and the first offending keys.
"""
import logging
import os
from typing import Dict, Iterable, List, Optional, Union

import torch
from mmengine.model import BaseModule

from mmaction.registry import MODELS

from ...checkpoint import (CheckpointKeyError, CheckpointMismatchError, CheckpointNotFoundError,
                           few_keys, read_state_dict)

logger = logging.getLogger(__name__)

# top-level names of open_clip's TextTransformer state dict (= CLIP's flat text keys)
_TEXT_TOP_KEYS = ('token_embedding', 'positional_embedding', 'transformer', 'ln_final',
                  'text_projection', 'cls_emb')
_ANCHOR = 'token_embedding.weight'


def _read_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """A flat ``name -> tensor`` dict from any supported checkpoint file (:mod:`mer_clip.checkpoint`)."""
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(
            f'CLIPTextEncoder: pretrained checkpoint {path!r} does not exist. Put a local '
            f'open_clip / OpenAI CLIP checkpoint there (nothing is downloaded) or set '
            f'pretrained=None for random weights.')
    return read_state_dict(path)


def _find_prefix(state: Dict[str, torch.Tensor], path: str, prefix: Optional[str]) -> str:
    if prefix is not None:
        if prefix + _ANCHOR not in state:
            raise CheckpointKeyError(f'CLIPTextEncoder: {path!r} has no key {prefix + _ANCHOR!r}; '
                                 f'keys look like {few_keys(sorted(state))}')
        return prefix
    found = sorted(k[:-len(_ANCHOR)] for k in state if k.endswith(_ANCHOR))
    if not found:
        raise CheckpointKeyError(
            f'CLIPTextEncoder: {path!r} has no CLIP text tower (no key ending in {_ANCHOR!r}); '
            f'its keys look like {few_keys(sorted(state))}. Is it an image-only or a non-CLIP '
            f'checkpoint?')
    if len(found) > 1:
        raise CheckpointKeyError(f'CLIPTextEncoder: {path!r} has several text towers under '
                                 f'prefixes {found}; choose one with ckpt_prefix=...')
    return found[0]


def load_text_tower_state(path: str, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The text-tower tensors of a checkpoint, keys relative to open_clip's ``TextTransformer``."""
    state = _read_checkpoint(path)
    prefix = _find_prefix(state, path, prefix)
    out = {}
    for key, value in state.items():
        if key.startswith(prefix):
            rel = key[len(prefix):]
            if rel.split('.', 1)[0] in _TEXT_TOP_KEYS:
                out[rel] = value
    return out


def _build_tower(arch: Union[str, dict], quick_gelu: Optional[bool]):
    """open_clip TextTransformer + its tokenizer from a model name or a text config dict."""
    import open_clip  # here: open_clip takes ~3 s to import, and only a text tower needs it
    from open_clip.model import _build_text_tower

    if isinstance(arch, str):
        cfg = open_clip.get_model_config(arch)
        if cfg is None:
            raise KeyError(f'CLIPTextEncoder: unknown open_clip model {arch!r}; use a name of '
                           f'open_clip.list_models() or an arch dict')
        embed_dim, text_cfg = cfg['embed_dim'], dict(cfg['text_cfg'])
        quick_gelu = cfg.get('quick_gelu', False) if quick_gelu is None else quick_gelu
    else:
        text_cfg = dict(arch)
        if 'embed_dim' not in text_cfg:
            raise KeyError('CLIPTextEncoder: arch dict needs embed_dim (and width, heads, layers)')
        embed_dim = text_cfg.pop('embed_dim')
        quick_gelu = bool(quick_gelu)
    if text_cfg.get('hf_model_name') or text_cfg.get('hf_tokenizer_name'):
        raise NotImplementedError('CLIPTextEncoder supports CLIP text transformers only, not '
                                  'Hugging Face text towers (they would need a download)')
    tower = _build_text_tower(embed_dim, text_cfg, quick_gelu=quick_gelu)
    tokenizer = open_clip.SimpleTokenizer(context_length=text_cfg.get('context_length', 77))
    return tower, tokenizer, embed_dim


@MODELS.register_module()
class CLIPTextEncoder(BaseModule):
    """open_clip text tower: ``forward(texts: list[str]) -> (B, embed_dim)`` unnormalised features.

    Args:
        arch: an open_clip model name ('ViT-B-16', 'ViT-L-14', ...) or a dict
            ``dict(embed_dim=512, context_length=77, vocab_size=49408, width=512, heads=8,
            layers=12, ...)`` (any field of open_clip's ``CLIPTextCfg``).
        pretrained: path of a local checkpoint; loaded by :meth:`init_weights` (the runner calls it
            before training). None keeps random weights.
        ckpt_prefix: key prefix of the text tower inside the checkpoint; None finds it (the unique
            prefix of ``token_embedding.weight``).
        quick_gelu: QuickGELU activations (OpenAI's CLIP weights need True). None: the model
            config's value (False for a dict arch).
        frozen: no gradients, eval mode kept in ``train()``; enables the feature cache.
        cache: cache features of seen texts while frozen. Turning it off gives the same features
            (used to test the cache).
        init_cfg: mmengine init config (rarely needed; ``pretrained`` is the usual way).

    Precision: a frozen encoder runs in float32 with autocast disabled, so cached and uncached
    features are identical under AMP; an unfrozen one follows the surrounding autocast.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'ViT-B-16',
                 pretrained: Optional[str] = None,
                 ckpt_prefix: Optional[str] = None,
                 quick_gelu: Optional[bool] = None,
                 frozen: bool = True,
                 cache: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.text, self.tokenizer, self.embed_dim = _build_tower(arch, quick_gelu)
        self.context_length = self.text.context_length
        self.pretrained = pretrained
        self.ckpt_prefix = ckpt_prefix
        self.use_cache = cache
        # text -> row of the table. The table is deliberately NOT a registered buffer: each rank
        # caches the prompts it has seen (sizes and row orders differ), and DDP's buffer broadcast
        # or mmengine's SyncBuffersHook would overwrite/average it. It follows .to() via _apply
        # and is not saved in checkpoints (it is derived from the weights, which are).
        self._cache_index: Dict[str, int] = {}
        self._cache_table = torch.zeros(0, self.embed_dim)
        self._truncated_warned = set()
        self.frozen = False
        if frozen:
            self.freeze()

    # ------------------------------------------------------------------ weights and freezing
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            self.load_pretrained(self.pretrained, self.ckpt_prefix)

    def load_pretrained(self, path: str, prefix: Optional[str] = None) -> None:
        """Load the text tower of a local checkpoint (strict: every key and shape must match)."""
        state = load_text_tower_state(path, prefix)
        expected = self.text.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        mismatched = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}'
                      for k in sorted(set(state) & set(expected))
                      if state[k].shape != expected[k].shape]
        if missing or unexpected or mismatched:
            raise CheckpointMismatchError(
                f'CLIPTextEncoder: the text tower in {path!r} does not match arch '
                f'(width {self.text.width}, layers {len(self.text.transformer.resblocks)}, '
                f'embed_dim {self.embed_dim}): {len(missing)} missing keys {missing[:5]}, '
                f'{len(unexpected)} unexpected keys {unexpected[:5]}, {len(mismatched)} shape '
                f'mismatches {mismatched[:5]}. Use the arch the checkpoint was trained with.')
        self.text.load_state_dict(state, strict=True)
        self.clear_cache()
        logger.info('CLIPTextEncoder: loaded %d text-tower tensors from %s', len(state), path)

    def freeze(self) -> None:
        self.frozen = True
        self.text.requires_grad_(False)
        self.text.eval()

    def unfreeze(self) -> None:
        """Train the text tower too; features are then encoded at every call (no cache)."""
        self.frozen = False
        self.text.requires_grad_(True)
        self.text.train(self.training)
        self.clear_cache()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.text.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self._cache_table = fn(self._cache_table)  # .to(device) / .double() carry the cache
        return self

    def _load_from_state_dict(self, *args, **kwargs):
        # new weights make cached features stale
        self.clear_cache()
        super()._load_from_state_dict(*args, **kwargs)

    # ------------------------------------------------------------------ encoding
    @property
    def device(self) -> torch.device:
        return self.text.token_embedding.weight.device

    def tokenize(self, texts: List[str]) -> torch.Tensor:
        """(B, context_length) token ids; warns once per text that does not fit."""
        for text in texts:
            if text in self._truncated_warned:
                continue
            n = len(self.tokenizer.encode(text)) + 2  # + start/end tokens
            if n > self.context_length:
                self._truncated_warned.add(text)
                logger.warning('CLIPTextEncoder: prompt of %d tokens truncated to %d: %r', n,
                               self.context_length, text)
        return self.tokenizer(list(texts), context_length=self.context_length)

    def encode(self, texts: List[str]) -> torch.Tensor:
        """Run the text tower on ``texts`` (no cache): (B, embed_dim)."""
        tokens = self.tokenize(texts).to(self.device)
        if not self.frozen:
            return self.text(tokens)
        with torch.no_grad(), torch.autocast(device_type=self.device.type, enabled=False):
            return self.text(tokens).float()

    def precompute(self, texts: Iterable[str]) -> int:
        """Encode the given texts into the cache now (e.g. every prompt of a dataset at build).

        Returns how many new texts were encoded. Does nothing when unfrozen or the cache is off.
        """
        if not (self.frozen and self.use_cache):
            return 0
        new = list(dict.fromkeys(t for t in texts if t not in self._cache_index))
        if not new:
            return 0
        # One prompt per forward: a row of a batched matmul can differ in its last bits with the
        # batch around it, so a feature would depend on the batch in which its prompt was first
        # seen, and a resumed run (empty cache, other batches) would drift from an uninterrupted
        # one. Each prompt is encoded once per process, so this costs little.
        feats = torch.cat([self.encode([t]) for t in new])  # (N_new, D) float32
        start = self._cache_table.shape[0]
        table = self._cache_table.to(feats.device)
        self._cache_table = torch.cat([table, feats.to(table.dtype)], dim=0)
        for i, text in enumerate(new):
            self._cache_index[text] = start + i
        return len(new)

    def clear_cache(self) -> None:
        self._cache_index = {}
        self._cache_table = self._cache_table.new_zeros(0, self.embed_dim)

    @property
    def cache_size(self) -> int:
        return len(self._cache_index)

    def forward(self, texts: List[str]) -> torch.Tensor:
        """(B,) texts -> (B, embed_dim) features (not normalised)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise ValueError('CLIPTextEncoder.forward got an empty list of texts')
        if not (self.frozen and self.use_cache):
            return self.encode(texts)
        self.precompute(texts)
        if self._cache_table.device != self.device:
            self._cache_table = self._cache_table.to(self.device)
        index = torch.tensor([self._cache_index[t] for t in texts], device=self.device)
        return self._cache_table.index_select(0, index)  # (B, D)
