"""Render a sample's text prompt from its AU list (or its emotion, for the Emo-Guided ablation).

Place it after every transform that changes ``au_list`` (``MEFlip`` swaps sides) and keep
``'au_prompt'``, ``'au_key'`` and ``'has_aus'`` in ``PackActionInputs(meta_keys=...)`` so the model
sees them.

Samples without AU labels (SMIC has none: ``aus`` null, ``au_list`` empty) have no AU text. With
``mask_empty=True`` they get no prompt (``au_prompt`` = ``au_key`` = ``''``) and ``has_aus=False``,
and ``MERCLIP`` leaves them out of the contrastive loss; they still train the classifier.
"""
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from mer_clip.au.descriptions import VOCABULARIES
from mer_clip.au.prompts import (DEFAULT_TEMPLATE_INDICES, EMOTION_TEMPLATES, ORDERS, SIDE_MODES,
                                 STYLES, TEMPLATES, au_key, au_prompt, emotion_phrase,
                                 emotion_prompt)


@TRANSFORMS.register_module()
class GenerateAUPrompt(BaseTransform):
    """``results['au_list']`` (AUCodes) -> ``results['au_prompt']`` and ``results['au_key']`` (str).

    Training (``test_mode=False``): a template drawn at random from the enabled ones (the paper:
    the first 7 of Table XII) per sample and call; test: template ``test_template`` and fixed AU
    order, so the text is deterministic. ``au_key`` is the template-free identity of the AU content
    ("4+R12", or the emotion in Emo-Guided mode); ``AUTextAlignHead`` uses it to recognise samples
    with the same AU content as positives of each other.

    Randomness: numpy's global RNG, like mmaction's own transforms; mmengine seeds it per process
    and per dataloader worker (``randomness=dict(seed=...)``), so a seeded run repeats its prompts.

    Args:
        test_mode: deterministic prompts (template ``test_template``, fixed order).
        mode: 'au' (AU-guided, the paper) or 'emotion' (Emo-Guided ablation, reads
            ``results['emotion']``).
        templates: the template list; default Table XII (AU) / :data:`EMOTION_TEMPLATES` (emotion).
        enabled_templates: indices of ``templates`` drawn during training, or an int n for the first
            n. Default: the first 7 (AU mode), all (emotion mode).
        test_template: template index used in test mode.
        order: 'fixed' or 'shuffle' (training only).
        sides: 'render' ("the left corner of the lips") or 'drop'.
        style: 'action' (Table II descriptions) or 'facs' (FACS names).
        fallback: AUs without a description: 'generic' ("action unit N") or 'error'.
        vocabulary: None (the AU table) or 'merclip' (the MER-CLIP authors' wording, which reads
            AU 13 as their "cheek puffer"; see :mod:`mer_clip.au.descriptions`).
        empty_prompt: text for a sample with an empty AU list; None (default) raises an error naming
            the sample (unless ``mask_empty``).
        mask_empty: a sample with an empty AU list gets ``has_aus=False`` and empty texts instead of
            an error or an invented prompt, so the alignment ignores it. Every other sample gets
            ``has_aus=True`` (the key means "takes part in the AU-text alignment": with
            ``empty_prompt`` the fixed text counts as its AU text).
    """

    def __init__(self,
                 test_mode: bool = False,
                 mode: str = 'au',
                 templates: Optional[Sequence[str]] = None,
                 enabled_templates: Union[int, Sequence[int], None] = None,
                 test_template: int = 0,
                 order: str = 'fixed',
                 sides: str = 'render',
                 style: str = 'action',
                 fallback: str = 'generic',
                 empty_prompt: Optional[str] = None,
                 vocabulary: Optional[str] = None,
                 mask_empty: bool = False) -> None:
        if mode not in ('au', 'emotion'):
            raise ValueError(f"mode must be 'au' or 'emotion', got {mode!r}")
        for name, value, choices in (('order', order, ORDERS), ('sides', sides, SIDE_MODES),
                                     ('style', style, STYLES)):
            if value not in choices:
                raise ValueError(f'{name} must be one of {choices}, got {value!r}')
        if vocabulary not in VOCABULARIES:
            raise ValueError(f'vocabulary must be one of {list(VOCABULARIES)}, got {vocabulary!r}')
        self.test_mode = test_mode
        self.mode = mode
        default = TEMPLATES if mode == 'au' else EMOTION_TEMPLATES
        self.templates = tuple(default if templates is None else templates)
        for template in self.templates:
            if not isinstance(template, str) or template.count('{}') != 1:
                raise ValueError(f'every template needs exactly one "{{}}", got {template!r}')
        if enabled_templates is None:
            enabled_templates = DEFAULT_TEMPLATE_INDICES if (
                mode == 'au' and templates is None) else range(len(self.templates))
        elif isinstance(enabled_templates, int):
            enabled_templates = range(enabled_templates)
        self.enabled_templates = tuple(int(i) for i in enabled_templates)
        if not self.enabled_templates:
            raise ValueError('enabled_templates is empty')
        for idx in self.enabled_templates + (test_template, ):
            if not 0 <= idx < len(self.templates):
                raise IndexError(f'template index {idx} out of range: there are '
                                 f'{len(self.templates)} templates')
        self.test_template = test_template
        self.order = order
        self.sides = sides
        self.style = style
        self.fallback = fallback
        if mask_empty and empty_prompt is not None:
            raise ValueError('GenerateAUPrompt: give either empty_prompt (one fixed text for '
                             'samples without AUs) or mask_empty=True (no text, left out of the '
                             'alignment)')
        self.empty_prompt = empty_prompt
        self.vocabulary = vocabulary
        self.mask_empty = mask_empty

    def transform(self, results: dict) -> dict:
        where = f"sample {results.get('sample_id', results.get('sample_idx', '?'))}"
        if self.test_mode:
            template_idx, rng, order = self.test_template, None, 'fixed'
        else:
            template_idx, rng, order = None, np.random, self.order  # numpy's global RNG

        if self.mode == 'emotion':
            if results.get('emotion') in (None, ''):
                raise KeyError(f"{where}: GenerateAUPrompt(mode='emotion') needs "
                               f"results['emotion'], which is missing or empty")
            results['au_prompt'] = emotion_prompt(results['emotion'], template_idx, rng,
                                                  self.templates, self.enabled_templates)
            results['au_key'] = emotion_phrase(results['emotion'])
            results['has_aus'] = True
            return results

        if 'au_list' not in results:
            raise KeyError(f"{where}: GenerateAUPrompt needs results['au_list'] (the parsed AUs of "
                           f'the annotation); the dataset did not provide it')
        au_list = results['au_list']
        results['has_aus'] = bool(au_list) or self.empty_prompt is not None
        if not au_list and self.mask_empty:
            results['au_prompt'] = ''
            results['au_key'] = ''
            return results
        if not au_list:
            if self.empty_prompt is None:
                raise ValueError(
                    f'{where} has no AU codes, so there is no AU prompt. Drop such samples from '
                    f'the annotation, set GenerateAUPrompt(mask_empty=True) to leave them out of '
                    f'the AU-text alignment, or GenerateAUPrompt(empty_prompt="...") to give them '
                    f'one fixed text.')
            results['au_prompt'] = self.empty_prompt
            results['au_key'] = ''
            return results
        try:
            results['au_prompt'] = au_prompt(au_list, template_idx, rng, self.templates,
                                             self.enabled_templates, order, self.sides,
                                             self.style, self.fallback, self.vocabulary)
        except (KeyError, ValueError, TypeError) as err:
            raise type(err)(f'{where}: cannot render the AU prompt of {au_list!r}: {err}') from err
        results['au_key'] = au_key(au_list, self.sides)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(test_mode={self.test_mode}, mode={self.mode!r}, '
                f'enabled_templates={self.enabled_templates}, test_template={self.test_template}, '
                f'order={self.order!r}, sides={self.sides!r}, style={self.style!r}, '
                f'mask_empty={self.mask_empty})')
