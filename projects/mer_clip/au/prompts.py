"""AU prompts: the templates of the paper's Table XII and the AU sentence placed in them.

An AU list (:class:`~mer_clip.au.codes.AUCode` s, e.g. ``parse_au_string('4+R12')``) becomes one
sentence, "a combination of lowering the brows and pulling the right corner of the lips"
(a single AU is just its phrase), which a template turns into the text the CLIP encoder sees:
"This micro-expression involves a combination of ...". Options:

- ``order``: 'fixed' (default, the paper: ascending AU number) or 'shuffle' (random order).
- ``sides``: 'render' (default: "pulling the left corner of the lips") or 'drop' (the bilateral
  phrase for every AU). The same AU on both sides (L12 + R12) is said once, without a side.
- ``style``: 'action' (Table II action-oriented descriptions, the paper) or 'facs' (FACS names).
- ``vocabulary``: None (the AU table of :mod:`mer_clip.au.descriptions`) or 'merclip' (the table
  with the MER-CLIP authors' wording, which differs on AU 13).

Templates: the 10 of Table XII; the paper (and the authors' ``templates_7.txt``) use the first 7,
one drawn at random per sample during training. The Emo-Guided ablation replaces the AU sentence by
the emotion word: "This micro-expression shows happiness." (:func:`emotion_prompt`).

Randomness comes from ``rng``: a ``numpy.random.Generator``, a ``RandomState`` (or the
``numpy.random`` module itself, i.e. numpy's global RNG, which mmengine seeds), or a
``random.Random``.
"""
import random as _random
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .codes import AUCode, require_codes
from .descriptions import get_au_description

#: Table XII of the paper, in order.
TEMPLATES: Tuple[str, ...] = (
    'This micro-expression involves {}.',
    'Key features of this micro-expression are {}.',
    'This micro-expression is characterized by {}.',
    'One can identify this micro-expression by {}.',
    'This micro-expression typically manifests as {}.',
    'The hallmark of this micro-expression is {}.',
    'An identifiable trait of this micro-expression is {}.',
    'Observing {} helps identify this micro-expression.',
    'The facial muscle movements in this micro-expression include {}.',
    'This micro-expression can be recognized through {}.',
)
#: The paper uses the first 7 templates by default.
NUM_DEFAULT_TEMPLATES = 7
DEFAULT_TEMPLATE_INDICES: Tuple[int, ...] = tuple(range(NUM_DEFAULT_TEMPLATES))

#: Templates of the Emo-Guided ablation (the emotion word instead of the AU sentence).
EMOTION_TEMPLATES: Tuple[str, ...] = (
    'This micro-expression shows {}.',
    'This micro-expression expresses {}.',
    'The emotion of this micro-expression is {}.',
)
#: How raw emotion labels read inside a sentence ("shows others" would not).
EMOTION_PHRASES = {'others': 'another emotion', 'other': 'another emotion'}

ORDERS = ('fixed', 'shuffle')
SIDE_MODES = ('render', 'drop')
STYLES = ('action', 'facs')


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')


def normalize_au_list(au_list: Iterable[AUCode],
                      sides: str = 'render') -> List[Tuple[int, Optional[str]]]:
    """Unique ``(au, side)`` pairs of :class:`AUCode` s, sorted by AU number.

    One AU annotated on both sides, or both sided and unsided, becomes unsided (bilateral); with
    ``sides='drop'`` every side is dropped.
    """
    _check_choice('sides', sides, SIDE_MODES)
    per_au = {}
    for code in require_codes(au_list):
        per_au.setdefault(code.au, set()).add(None if sides == 'drop' else code.side)
    out = []
    for au in sorted(per_au):
        found = per_au[au]
        side = None if (None in found or {'L', 'R'} <= found) else next(iter(found))
        out.append((au, side))
    return out


def au_key(au_list: Iterable[AUCode], sides: str = 'render') -> str:
    """Order-free identity of an AU combination, e.g. "4+R12": equal keys mean equal AU content.

    Two samples whose prompts differ only by the drawn template or the shuffled order share a key;
    :class:`AUTextAlignHead` treats them as positives of each other.
    """
    pairs = normalize_au_list(au_list, sides)
    return '+'.join(f'{side or ""}{au}' for au, side in pairs)


def join_phrases(phrases: Sequence[str]) -> str:
    """"X" / "a combination of X and Y" / "a combination of X, Y and Z"."""
    phrases = list(phrases)
    if not phrases:
        raise ValueError('cannot join an empty list of AU phrases')
    if len(phrases) == 1:
        return phrases[0]
    return 'a combination of ' + ', '.join(phrases[:-1]) + ' and ' + phrases[-1]


def _randbelow(rng, n: int) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(n))
    if isinstance(rng, _random.Random):
        return rng.randrange(n)
    if hasattr(rng, 'randint'):  # RandomState or the numpy.random module (global RNG)
        return int(rng.randint(n))
    raise TypeError(f'rng must be a numpy Generator / RandomState / random.Random, got {rng!r}')


def _permutation(rng, n: int) -> List[int]:
    if isinstance(rng, _random.Random):
        idx = list(range(n))
        rng.shuffle(idx)
        return idx
    if hasattr(rng, 'permutation'):
        return [int(i) for i in rng.permutation(n)]
    raise TypeError(f'rng must be a numpy Generator / RandomState / random.Random, got {rng!r}')


def au_sentence(au_list: Iterable[AUCode],
                order: str = 'fixed',
                sides: str = 'render',
                style: str = 'action',
                rng=None,
                fallback: str = 'generic',
                vocabulary: Optional[str] = None) -> str:
    """The AU sentence of one sample.

    >>> au_sentence([AUCode(4), AUCode(12, 'L')])
    'a combination of lowering the brows and pulling the left corner of the lips'

    Args:
        au_list: :class:`AUCode` s (anything else is a TypeError).
        order: 'fixed' (ascending AU number) or 'shuffle' (random order from ``rng``; numpy's
            global RNG when ``rng`` is None).
        sides: 'render' or 'drop'.
        style: 'action' (Table II descriptions) or 'facs' (FACS names).
        rng: random source for ``order='shuffle'``.
        fallback: for AUs without a description, 'generic' ("action unit N") or 'error'.
        vocabulary: None (the AU table) or 'merclip' (the authors' wording).
    """
    _check_choice('order', order, ORDERS)
    _check_choice('style', style, STYLES)
    pairs = normalize_au_list(au_list, sides)
    if not pairs:
        raise ValueError('au_list is empty: there is no AU to describe')
    phrases = [get_au_description(au, fallback, vocabulary).render(side, style)
               for au, side in pairs]
    if order == 'shuffle' and len(phrases) > 1:
        perm = _permutation(np.random if rng is None else rng, len(phrases))
        phrases = [phrases[i] for i in perm]
    return join_phrases(phrases)


def _pick_template(templates: Sequence[str], template_idx: Optional[int], rng,
                   enabled: Optional[Sequence[int]]) -> str:
    if template_idx is None:
        if rng is None:
            template_idx = 0
        else:
            pool = list(range(len(templates))) if enabled is None else list(enabled)
            if not pool:
                raise ValueError('no template enabled')
            template_idx = pool[_randbelow(rng, len(pool))]
    if not 0 <= template_idx < len(templates):
        raise IndexError(f'template index {template_idx} out of range (0..{len(templates) - 1})')
    template = templates[template_idx]
    if template.count('{}') != 1:
        raise ValueError(f'a template needs exactly one "{{}}", got {template!r}')
    return template


def au_prompt(au_list: Iterable[AUCode],
              template_idx: Optional[int] = None,
              rng=None,
              templates: Sequence[str] = TEMPLATES,
              enabled: Optional[Sequence[int]] = DEFAULT_TEMPLATE_INDICES,
              order: str = 'fixed',
              sides: str = 'render',
              style: str = 'action',
              fallback: str = 'generic',
              vocabulary: Optional[str] = None) -> str:
    """The full prompt: a template with the AU sentence in it.

    ``template_idx`` picks a template (index into ``templates``); when it is None a template is
    drawn from ``enabled`` with ``rng``, and without ``rng`` template 0 is used. ``rng`` also
    shuffles the AUs when ``order='shuffle'``.

    >>> au_prompt([AUCode(12, 'R')], 0)
    'This micro-expression involves pulling the right corner of the lips.'
    """
    template = _pick_template(templates, template_idx, rng, enabled)
    return template.format(au_sentence(au_list, order, sides, style, rng, fallback, vocabulary))


def emotion_phrase(emotion: str) -> str:
    """Emotion word as used in a sentence: lower case, "others" -> "another emotion"."""
    word = str(emotion).strip().lower()
    if not word:
        raise ValueError('empty emotion label')
    return EMOTION_PHRASES.get(word, word)


def emotion_prompt(emotion: str,
                   template_idx: Optional[int] = None,
                   rng=None,
                   templates: Sequence[str] = EMOTION_TEMPLATES,
                   enabled: Optional[Sequence[int]] = (0, )) -> str:
    """Emo-Guided prompt: "This micro-expression shows anger."."""
    template = _pick_template(templates, template_idx, rng, enabled)
    return template.format(emotion_phrase(emotion))
