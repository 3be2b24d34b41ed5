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

Two things follow from the file (:mod:`.text_weight_source`): the MLP activation (QuickGELU for
OpenAI's and ViCLIP's weights, GELU for open_clip's LAION ones; a config that says otherwise is an
error naming both), and, for ViCLIP (the MER-CLIP authors' text tower, 32 positions), how its
positions fit a 77-position tower: zero-padded as the authors do (``pad_positions=True``), or the
native 32-position tower (``context_length=32``), which cuts longer prompts and warns with a count.
Each load is one line of the run log
(:class:`~mer_clip.models.weight_load_report.WeightLoadReport`).
"""
import logging
import os
from typing import Dict, Iterable, List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule

from mmaction.registry import MODELS

from ...checkpoint import (CheckpointKeyError, CheckpointMismatchError, CheckpointNotFoundError,
                           few_keys, read_state_dict)
from ..weight_load_report import WeightLoadReport, file_sha256
from .text_weight_source import TextWeightSource, identify_text_weights

# top-level names of open_clip's TextTransformer state dict (= CLIP's flat text keys)
_TEXT_TOP_KEYS = ('token_embedding', 'positional_embedding', 'transformer', 'ln_final',
                  'text_projection', 'cls_emb')
_ANCHOR = 'token_embedding.weight'


def _read_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """The flat ``name -> tensor`` dict of a checkpoint file (via :mod:`mer_clip.checkpoint`)."""
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(
            f'CLIPTextEncoder: pretrained checkpoint {path!r} does not exist. Put a local '
            f'open_clip / OpenAI CLIP / ViCLIP checkpoint there (nothing is downloaded) or set '
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


def read_text_tower(path: str, prefix: Optional[str] = None
                    ) -> Tuple[Dict[str, torch.Tensor], str, Dict[str, torch.Tensor]]:
    """``(file state dict, prefix, text-tower tensors)``, the last keyed as open_clip's
    ``TextTransformer`` (prefix removed)."""
    state = _read_checkpoint(path)
    prefix = _find_prefix(state, path, prefix)
    tower = {}
    for key, value in state.items():
        if key.startswith(prefix):
            rel = key[len(prefix):]
            if rel.split('.', 1)[0] in _TEXT_TOP_KEYS:
                tower[rel] = value
    return state, prefix, tower


def load_text_tower_state(path: str, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The text-tower tensors of a checkpoint, keys relative to open_clip's ``TextTransformer``."""
    return read_text_tower(path, prefix)[2]


def _build_tower(arch: Union[str, dict], quick_gelu: Optional[bool],
                 context_length: Optional[int] = None):
    """open_clip TextTransformer + its tokenizer from a model name or a text config dict.

    Returns ``(tower, tokenizer, embed_dim, quick_gelu, quick_gelu_stated)``; the last says whether
    the activation was chosen (the argument, or a ``-quickgelu`` model config) or defaulted.
    """
    import open_clip  # here: open_clip takes ~3 s to import, and only a text tower needs it
    from open_clip.model import _build_text_tower

    stated = quick_gelu is not None
    if isinstance(arch, str):
        cfg = open_clip.get_model_config(arch)
        if cfg is None:
            raise KeyError(f'CLIPTextEncoder: unknown open_clip model {arch!r}; use a name of '
                           f'open_clip.list_models() or an arch dict')
        embed_dim, text_cfg = cfg['embed_dim'], dict(cfg['text_cfg'])
        stated = stated or 'quick_gelu' in cfg
        quick_gelu = cfg.get('quick_gelu', False) if quick_gelu is None else quick_gelu
    else:
        text_cfg = dict(arch)
        if 'embed_dim' not in text_cfg:
            raise KeyError('CLIPTextEncoder: arch dict needs embed_dim (and width, heads, layers)')
        embed_dim = text_cfg.pop('embed_dim')
        quick_gelu = bool(quick_gelu)
    if context_length is not None:
        text_cfg['context_length'] = int(context_length)
    if text_cfg.get('hf_model_name') or text_cfg.get('hf_tokenizer_name'):
        raise NotImplementedError('CLIPTextEncoder supports CLIP text transformers only, not '
                                  'Hugging Face text towers (they would need a download)')
    tower = _build_text_tower(embed_dim, text_cfg, quick_gelu=quick_gelu)
    tokenizer = open_clip.SimpleTokenizer(context_length=text_cfg.get('context_length', 77))
    return tower, tokenizer, embed_dim, bool(quick_gelu), stated


def _activation_name(quick_gelu: bool) -> str:
    return 'QuickGELU' if quick_gelu else 'GELU'


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
        quick_gelu: QuickGELU (True) or GELU (False) MLP activations. None: follow the weight file
            where its source tells (OpenAI, ViCLIP: QuickGELU; open_clip LAION: GELU; see
            :mod:`.text_weight_source`), else the arch's default (False for a dict arch). A value
            the file contradicts is an error naming both.
        context_length: positions of the tower (None: the arch's, 77 for CLIP). ViCLIP's text
            tower has 32: ``context_length=32`` loads it natively (longer prompts are cut, with a
            warning that counts them).
        pad_positions: a file with fewer positions than the tower (ViCLIP's 32 in a 77-position
            tower) gets its positional embedding zero-padded, as the MER-CLIP authors load it
            (their prompts of up to 77 tokens are not cut; positions past the file's have no
            position signal). Every other tensor must still match. False: such a file is an error.
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
                 context_length: Optional[int] = None,
                 pad_positions: bool = True,
                 frozen: bool = True,
                 cache: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        (self.text, self.tokenizer, self.embed_dim, self.quick_gelu,
         self._quick_gelu_stated) = _build_tower(arch, quick_gelu, context_length)
        self.context_length = self.text.context_length
        self.pretrained = pretrained
        self.ckpt_prefix = ckpt_prefix
        self.pad_positions = pad_positions
        self.use_cache = cache
        self.load_report: Optional[WeightLoadReport] = None
        #: the file the tower was loaded from: ``dict(file, prefix, sha256)`` (None: not loaded);
        #: checkpoints record it instead of the frozen tower (mer_clip.engine.frozen_text_tower)
        self.weights_file: Optional[Dict[str, str]] = None
        # text -> row of the table. The table is deliberately NOT a registered buffer: each rank
        # caches the prompts it has seen (sizes and row orders differ), and DDP's buffer broadcast
        # or mmengine's SyncBuffersHook would overwrite/average it. It follows .to() via _apply
        # and is not saved in checkpoints (it is derived from the weights, which are).
        self._cache_index: Dict[str, int] = {}
        self._cache_table = torch.zeros(0, self.embed_dim)
        self._prompt_tokens: Dict[str, int] = {}  # every distinct prompt tokenized: its length
        self._cut_prompts: set = set()
        self.frozen = False
        if frozen:
            self.freeze()

    # ------------------------------------------------------------------ weights and freezing
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            self.load_pretrained(self.pretrained, self.ckpt_prefix)

    def load_pretrained(self, path: str, prefix: Optional[str] = None) -> WeightLoadReport:
        """Load the text tower of a local checkpoint and log what was loaded (one line).

        Strict: every key and shape must match, except a positional embedding shorter than the
        tower's, which is zero-padded when ``pad_positions`` (the MER-CLIP authors' ViCLIP load).
        """
        file_state, prefix, state = read_text_tower(path, prefix)
        source = identify_text_weights(path, file_state, prefix)
        position_note = self._fit_positions(state, path)
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
                f'embed_dim {self.embed_dim}, context_length {self.context_length}): '
                f'{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected keys '
                f'{unexpected[:5]}, {len(mismatched)} shape mismatches {mismatched[:5]}. Use the '
                f'arch the checkpoint was trained with.')
        notes = [f'prefix {prefix!r}', f'source {source.name} ({source.evidence})',
                 self._settle_activation(source, path)]
        dtypes = sorted({str(v.dtype).replace('torch.', '') for v in state.values()
                         if v.is_floating_point()})
        self.text.load_state_dict(state, strict=True)
        self.clear_cache()
        if position_note:
            notes.append(position_note)
        notes.append(f'file dtype {"/".join(dtypes)}, loaded as '
                     f'{str(self.text.token_embedding.weight.dtype).replace("torch.", "")}')
        used = {prefix + k for k in state}
        self.load_report = WeightLoadReport(
            'CLIPTextEncoder', path, total=len(expected), loaded=sorted(state), missing=[],
            unused=sorted(k for k in file_state if k not in used), notes=notes)
        self.load_report.log()
        self.weights_file = dict(file=os.path.abspath(path), prefix=prefix,
                                 sha256=file_sha256(path))  # hashed by the log line: cached
        return self.load_report

    def _settle_activation(self, source: TextWeightSource, path: str) -> str:
        """Make the tower's activation the file's where the file's is known (see the class)."""
        if source.quick_gelu is None:
            how = 'config' if self._quick_gelu_stated else "the arch's default"
            return (f'activation {_activation_name(self.quick_gelu)} ({how}; the file does not '
                    f'tell: set quick_gelu to what it was trained with)')
        if self._quick_gelu_stated and self.quick_gelu != source.quick_gelu:
            raise CheckpointMismatchError(
                f'CLIPTextEncoder: the config says quick_gelu={self.quick_gelu} '
                f'({_activation_name(self.quick_gelu)}), but {path!r} is {source.name} weights '
                f'({source.evidence}), trained with {source.activation}. Set '
                f'text_encoder.quick_gelu={source.quick_gelu} (or None: follow the file).')
        if self.quick_gelu != source.quick_gelu:
            self._set_activation(source.quick_gelu)
        return f'activation {source.activation} (that of {source.name} weights)'

    def _set_activation(self, quick_gelu: bool) -> None:
        """Swap the MLP activation of every block (parameter-free: the weights stay)."""
        from open_clip.transformer import QuickGELU
        for block in self.text.transformer.resblocks:
            block.mlp.gelu = QuickGELU() if quick_gelu else torch.nn.GELU()
        self.quick_gelu = quick_gelu

    def _fit_positions(self, state: Dict[str, torch.Tensor], path: str) -> Optional[str]:
        """Zero-pad a shorter positional embedding (``pad_positions``); None when it fits."""
        pos = state.get('positional_embedding')
        n_model, width = self.text.positional_embedding.shape
        if pos is None or pos.dim() != 2 or pos.shape[1] != width:
            return None  # reported as a shape mismatch
        n_file = pos.shape[0]
        if n_file == n_model:
            if n_model < 77:
                return (f'a {n_model}-position tower: prompts of more than {n_model} tokens are '
                        f'cut (each one is warned, with the count so far)')
            return None
        if n_file < n_model and self.pad_positions:
            padded = pos.new_zeros(n_model, width)
            padded[:n_file] = pos
            state['positional_embedding'] = padded
            return (f'positional_embedding zero-padded {n_file} -> {n_model} positions '
                    f'(positions {n_file + 1}-{n_model} are 0, as the MER-CLIP authors load '
                    f"ViCLIP's text tower; context_length={n_file} for the native tower)")
        fix = (f'context_length={n_file} (the native tower) or pad_positions=True (zero-padded, '
               f"the MER-CLIP authors' way)" if n_file < n_model else f'context_length={n_file}')
        raise CheckpointMismatchError(
            f'CLIPTextEncoder: {path!r} has a {n_file}-position text tower '
            f'(positional_embedding {tuple(pos.shape)}), this one has {n_model} positions: set '
            f'text_encoder.{fix}.')

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
        """(B, context_length) token ids; each distinct prompt that does not fit is warned once,
        with how many of the distinct prompts tokenized so far were cut."""
        for text in texts:
            if text in self._prompt_tokens:
                continue
            n = len(self.tokenizer.encode(text)) + 2  # + start/end tokens
            self._prompt_tokens[text] = n
            if n > self.context_length:
                self._cut_prompts.add(text)
                print_log(
                    f'CLIPTextEncoder: a prompt of {n} tokens is cut to the tower\'s '
                    f'{self.context_length} positions ({len(self._cut_prompts)} of the '
                    f'{len(self._prompt_tokens)} distinct prompts encoded so far were cut): '
                    f'{text!r}', logger='current', level=logging.WARNING)
        return self.tokenizer(list(texts), context_length=self.context_length)

    @property
    def cut_prompts(self) -> Tuple[int, int]:
        """``(cut, encoded)``: distinct prompts cut to the context length / tokenized so far."""
        return len(self._cut_prompts), len(self._prompt_tokens)

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
