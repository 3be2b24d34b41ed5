"""The MER-CLIP recognizer: video encoder + emotion head, aligned with AU text during training.

Training (``mode='loss'``), per batch of B clips with AU prompts
``data_samples[i].metainfo['au_prompt']``:

    F_g, tokens = backbone(clips)                       # (B, C), (B, N, C)
    loss_cls  = w_cls  * focal(cls_head(F_g, tokens), labels)
    loss_clip = w_clip * contrastive(align_head(F_g), align_head(text_encoder(prompts)))

``w_clip`` / ``w_cls`` are set per epoch by ``ProgressiveLossHook`` (Eq. 14-15) through
:meth:`MERCLIP.set_loss_weights`; without the hook they stay at ``loss_weights`` (default 0.5 / 0.5,
the floor of the authors' schedule: clip 2.0 -> 1.0 of a total 2.0, normalised). The unweighted
values are logged as ``clip_raw`` / ``cls_raw`` (no 'loss' in the name, so mmengine does not add
them to the total). Prediction (``mode='predict'``) uses the emotion head only: no text at test
time.

In the aligned space, as open_clip's ``encode_image`` / ``encode_text``:
:meth:`MERCLIP.encode_video` and :meth:`MERCLIP.encode_text` give L2-normalised embeddings (AU
retrieval, :mod:`mer_clip.apis.inference`, compares them, scaled by
:meth:`MERCLIP.alignment_scale`).

Ablations of Table VIII from the config alone:
- ``align_head=None``: no alignment; the loss is the classification loss alone (weight 1).
- ``cls_head=dict(type='UniFormerHead', ...)`` (any head without ``uses_local_tokens``): a linear
  head on F_g instead of the emotion transformer head.
- no ``ProgressiveLossHook`` in ``custom_hooks``: fixed ``loss_weights``.

Samples without AU labels (SMIC; ``GenerateAUPrompt(mask_empty=True)`` marks them
``has_aus=False``) are left out of the contrastive loss: only the other samples' F_g and texts
reach the alignment head, and a batch (over all DDP ranks) without any gives a zero loss that still
touches every alignment parameter, so DDP sees the same parameters used in every step.

Images as well as clips: with a ``format_shape='NCHW'`` data preprocessor the inputs are
(N, num_segs, C, H, W) images (``LoadMEImage``: apex frame, optical flow) and the backbone a 2D
network returning a (B, C, H, W) map, whose positions are the local tokens.
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence

import torch
from mmaction.models.recognizers.base import BaseRecognizer
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from ..backbones.visual_features import split_fused_and_tokens


@MODELS.register_module()
class MERCLIP(BaseRecognizer):
    """MER-CLIP recognizer (see the module docstring).

    Args:
        backbone (dict): the video encoder, normally ``MERUniFormerV2`` (returns ``(F_g, tokens)``);
            a backbone returning a (B, C) or (B, C, T, H, W) tensor works too.
        cls_head (dict): the emotion head (``EmotionTransformerHead`` or a linear mmaction head).
        text_encoder (dict, optional): ``CLIPTextEncoder``; needed when ``align_head`` is given.
        align_head (dict, optional): ``AUTextAlignHead``; ``visual_dim`` / ``text_dim`` default to
            the backbone's ``out_channels`` and the text encoder's ``embed_dim``. None: no
            alignment.
        loss_weights (dict): initial ``clip`` / ``cls`` weights (kept when no hook changes them).
        prompt_key (str): metainfo key of the AU prompt.
        group_key (str): metainfo key of the template-free AU content (``au_key`` of
            GenerateAUPrompt); samples with equal keys are positives of each other in the
            contrastive loss. When a sample lacks it, the prompt texts themselves are compared.
        mask_key (str): metainfo key telling whether a sample takes part in the alignment
            (``has_aus`` of GenerateAUPrompt); samples where it is False have no prompt and are
            left out of the contrastive loss. Absent: the sample takes part.
        data_preprocessor, train_cfg, test_cfg: as in mmaction recognizers.
    """

    def __init__(self,
                 backbone: ConfigType,
                 cls_head: ConfigType,
                 text_encoder: OptConfigType = None,
                 align_head: OptConfigType = None,
                 loss_weights: Optional[Dict[str, float]] = None,
                 prompt_key: str = 'au_prompt',
                 group_key: str = 'au_key',
                 mask_key: str = 'has_aus',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None) -> None:
        if cls_head is None:
            raise ValueError('MERCLIP needs a cls_head (the emotion classifier)')
        super().__init__(backbone=backbone, cls_head=cls_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor)
        self.prompt_key = prompt_key
        self.group_key = group_key
        self.mask_key = mask_key
        self.text_encoder = None
        self.align_head = None
        if align_head is not None:
            if text_encoder is None:
                raise ValueError('MERCLIP: align_head needs a text_encoder (the AU prompts are '
                                 'encoded by it); set align_head=None for the no-alignment model')
            self.text_encoder = MODELS.build(text_encoder)
            align_head = copy.deepcopy(dict(align_head))
            align_head.setdefault('visual_dim', self._visual_dim())
            align_head.setdefault('text_dim', self.text_encoder.embed_dim)
            self.align_head = MODELS.build(align_head)
        elif text_encoder is not None:
            warnings.warn('MERCLIP: text_encoder is ignored because align_head is None '
                          '(no-alignment ablation); it is not built.')
        weights = dict(clip=0.5, cls=0.5)
        weights.update(loss_weights or {})
        if set(weights) != {'clip', 'cls'}:
            raise ValueError("MERCLIP: loss_weights takes keys 'clip' and 'cls', got "
                             f'{sorted(weights)}')
        self.set_loss_weights(**weights)

    # ------------------------------------------------------------------ configuration
    @property
    def with_alignment(self) -> bool:
        return self.align_head is not None

    @property
    def loss_weights(self) -> Dict[str, float]:
        return dict(clip=self._w_clip, cls=self._w_cls)

    def set_loss_weights(self, clip: float, cls: float) -> None:
        """Set the contrastive and classification loss weights (ProgressiveLossHook, Eq. 14-15)."""
        clip, cls = float(clip), float(cls)
        if clip < 0 or cls < 0:
            raise ValueError(f'MERCLIP: loss weights must be >= 0, got clip={clip}, cls={cls}')
        self._w_clip, self._w_cls = clip, cls

    def _visual_dim(self) -> int:
        for owner, attr in ((self.backbone, 'out_channels'), (self.cls_head, 'in_channels')):
            if isinstance(getattr(owner, attr, None), int):
                return getattr(owner, attr)
        raise ValueError('MERCLIP: cannot infer the visual feature size; set align_head.visual_dim')

    def _head_input(self, feats):
        """(F_g, tokens) for token-aware heads, F_g (B, C) for linear heads."""
        if getattr(self.cls_head, 'uses_local_tokens', False):
            return feats
        return split_fused_and_tokens(feats)[0]

    def _prompts(self, data_samples: SampleList) -> List[str]:
        texts = []
        for i, sample in enumerate(data_samples):
            text = sample.metainfo.get(self.prompt_key)
            if not isinstance(text, str):  # '' (no AUs coded) is allowed: see the module doc
                sid = sample.metainfo.get('sample_id', f'batch index {i}')
                raise KeyError(
                    f'MERCLIP: sample {sid!r} has no {self.prompt_key!r} text in its metainfo, but '
                    'alignment is on. Add GenerateAUPrompt to the train pipeline and '
                    f'{self.prompt_key!r} to PackActionInputs.meta_keys, or set align_head=None.')
            texts.append(text)
        return texts

    def _aligned(self, data_samples: SampleList) -> List[int]:
        """Indices of the samples that take part in the alignment (``mask_key`` not False)."""
        return [i for i, s in enumerate(data_samples) if s.metainfo.get(self.mask_key, True)]

    @property
    def _image_inputs(self) -> bool:
        """(N, num_segs, C, H, W) images rather than (N, C, T, H, W) clips (NCHW preprocessor)."""
        return getattr(self.data_preprocessor, 'format_shape', None) == 'NCHW'

    def _group_keys(self, data_samples: SampleList) -> Optional[List[str]]:
        keys = [sample.metainfo.get(self.group_key) for sample in data_samples]
        return None if any(k is None for k in keys) else keys

    # ------------------------------------------------------------------ the aligned space
    def _check_alignment(self, what: str) -> None:
        if not self.with_alignment:
            raise ValueError(f'MERCLIP.{what} needs the AU-text alignment (align_head and '
                             'text_encoder); this model was built without them (align_head=None)')

    def encode_video(self, inputs: Tensor) -> Tensor:
        """Preprocessed clips (N, num_clips, C, T, H, W) (or NCHW images) -> (N * num_clips, E)
        L2-normalised embeddings of F_g in the aligned space (``align_head.project_visual``)."""
        self._check_alignment('encode_video')
        feats, _ = self.extract_feat(inputs, test_mode=True)
        fused, _ = split_fused_and_tokens(feats)  # F_g (N * num_clips, C)
        return self.align_head.project_visual(fused)

    def encode_text(self, texts: Sequence[str]) -> Tensor:
        """B texts -> (B, E) L2-normalised embeddings in the aligned space (the frozen text
        encoder's features through ``align_head.project_text``)."""
        self._check_alignment('encode_text')
        return self.align_head.project_text(self.text_encoder(list(texts)))

    def alignment_scale(self) -> Tensor:
        """The learned logit scale of the aligned cosine similarities (CLIP's exp(s), capped)."""
        self._check_alignment('alignment_scale')
        return self.align_head.scale()

    # ------------------------------------------------------------------ forward
    def extract_feat(self,
                     inputs: Tensor,
                     stage: str = 'backbone',
                     data_samples: SampleList = None,
                     test_mode: bool = False) -> tuple:
        """inputs: (N, num_clips, C, T, H, W) -> backbone features of the N * num_clips clips;
        with an NCHW preprocessor (N, num_segs, C, H, W) -> features of the N * num_segs images.

        ``stage='head'`` returns the emotion logits instead. The second element (kwargs for the
        head) is empty, as for mmaction's Recognizer3D without neck.
        """
        if inputs.dim() == 6 or (inputs.dim() == 5 and self._image_inputs):
            inputs = inputs.flatten(0, 1)  # (N * num_clips, C, T, H, W) or (N * segs, C, H, W)
        feats = self.backbone(inputs)
        if stage == 'head':
            return self.cls_head(self._head_input(feats)), dict()
        return feats, dict()

    def loss(self, inputs: Tensor, data_samples: SampleList, **kwargs) -> Dict[str, Tensor]:
        """Weighted ``loss_cls`` (+ ``loss_clip``), raw ``cls_raw`` (+ ``clip_raw``), top-1 acc."""
        if (inputs.dim() == 6 or (inputs.dim() == 5 and self._image_inputs)) \
                and inputs.size(1) != 1:
            raise ValueError(f'MERCLIP trains on one clip per sample (num_clips=1), got '
                             f'{inputs.size(1)} clips per sample; multi-view is for testing only.')
        aligned = self._aligned(data_samples) if self.with_alignment else []
        aligned_samples = [data_samples[i] for i in aligned]
        texts = self._prompts(aligned_samples) if self.with_alignment else None
        feats, _ = self.extract_feat(inputs, data_samples=data_samples)
        # logits in float32 (bf16/fp16 autocast): the loss and mmaction's numpy top-k need it
        cls_scores = self.cls_head(self._head_input(feats)).float()  # (B, K)
        head_out = self.cls_head.loss_by_feat(cls_scores, data_samples)
        raw_cls = head_out.pop('loss_cls')
        losses = dict(head_out)  # top-k accuracies
        losses['cls_raw'] = raw_cls.detach()
        if not self.with_alignment:
            losses['loss_cls'] = raw_cls
            return losses
        fused, _ = split_fused_and_tokens(feats)  # F_g (B, C)
        fused = fused[torch.as_tensor(aligned, dtype=torch.long, device=fused.device)]  # (B', C)
        if texts:
            text_feat = self.text_encoder(texts)  # (B', Dt)
        else:  # no sample with AUs here; other DDP ranks may have some: the head still gathers
            text_feat = fused.new_zeros((0, self.align_head.text_dim))
        align_out = dict(self.align_head.loss(fused, text_feat, texts,
                                              group_keys=self._group_keys(aligned_samples)))
        raw_clip = align_out.pop('loss_clip')
        for k, v in align_out.items():  # extra logs of the align head, never summed into the loss
            losses[k if 'loss' not in k else k.replace('loss', 'log')] = \
                v.detach() if isinstance(v, Tensor) else torch.as_tensor(v)
        losses['clip_raw'] = raw_clip.detach()
        losses['loss_cls'] = raw_cls * self._w_cls
        losses['loss_clip'] = raw_clip * self._w_clip
        return losses

    def predict(self, inputs: Tensor, data_samples: SampleList, **kwargs) -> SampleList:
        """Emotion prediction from the visual branch only; views of a sample are averaged by the
        head's ``average_clips``."""
        feats, _ = self.extract_feat(inputs, test_mode=True)
        cls_scores = self.cls_head(self._head_input(feats)).float()  # (N * num_clips, K)
        return self.cls_head.predict_by_feat(cls_scores, data_samples)

    def _forward(self, inputs: Tensor, stage: str = 'backbone', **kwargs):
        """``mode='tensor'``: the backbone features, or the logits with ``stage='head'``."""
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats


__all__: Sequence[str] = ['MERCLIP']
