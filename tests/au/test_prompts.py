"""AU sentences and prompts: joining, order, sides, styles, templates, emotion prompts, keys."""
import random
from collections import Counter

import numpy as np
import pytest

from mer_clip.au import AUCode, parse_au_string
from mer_clip.au.prompts import (DEFAULT_TEMPLATE_INDICES, TEMPLATES, au_key, au_prompt,
                                 au_sentence, emotion_prompt, join_phrases, normalize_au_list)


def aus(*items):
    return [AUCode(au, side) for au, side in items]


def test_ten_templates_seven_default():
    assert len(TEMPLATES) == 10 and DEFAULT_TEMPLATE_INDICES == tuple(range(7))
    assert TEMPLATES[0] == 'This micro-expression involves {}.'
    assert TEMPLATES[9] == 'This micro-expression can be recognized through {}.'
    assert all(t.count('{}') == 1 for t in TEMPLATES)


def test_join_phrases():
    assert join_phrases(['x']) == 'x'
    assert join_phrases(['x', 'y']) == 'a combination of x and y'
    assert join_phrases(['x', 'y', 'z']) == 'a combination of x, y and z'
    with pytest.raises(ValueError):
        join_phrases([])


def test_fixed_order_and_sides_render():
    # input order does not matter: fixed order = ascending AU number (the authors' lists)
    sent = au_sentence(aus((12, 'R'), (4, None), (1, 'L')))
    assert sent == ('a combination of raising the inner part of the left brow, lowering the '
                    'brows and pulling the right corner of the lips')


def test_sides_drop_and_bilateral_merge():
    assert au_sentence(aus((12, 'R'), (4, None)), sides='drop') == \
        'a combination of lowering the brows and pulling the corners of the lips'
    # L12 + R12 is said once, bilaterally; exact duplicates collapse
    assert au_sentence(aus((12, 'L'), (12, 'R'), (12, 'R'))) == 'pulling the corners of the lips'
    assert normalize_au_list(aus((12, 'L'), (12, None), (2, 'R'))) == [(2, 'R'), (12, None)]


def test_facs_style():
    assert au_sentence(aus((4, None), (12, 'L')), style='facs') == \
        'a combination of Brow Lowerer and Left Lip Corner Puller'


def test_merclip_vocabulary():
    """The authors' wording (AU 13 = cheek puffer) through the sentence and the prompt."""
    codes = aus((4, None), (13, None))
    assert au_sentence(codes) == \
        'a combination of lowering the brows and sharply pulling up the corners of the lips'
    assert au_sentence(codes, vocabulary='merclip') == (
        'a combination of lowering the brows and inflating the cheeks by exerting pressure from '
        'within the mouth')
    assert au_sentence(codes, style='facs', vocabulary='merclip') == \
        'a combination of Brow Lowerer and Cheek Puffer'
    assert au_prompt(codes, 0, vocabulary='merclip').endswith('from within the mouth.')


def test_only_aucodes_are_described():
    codes = parse_au_string('R12A+4')
    assert codes == [AUCode(4), AUCode(12, 'R', 'A')]
    assert au_sentence(codes) == au_sentence(aus((4, None), (12, 'R')))
    # one form in memory: the annotation's dicts, bare numbers or strings are refused
    for bad in ({'au': 12, 'side': 'R'}, 12, 'R12'):
        with pytest.raises(TypeError, match='must be an AUCode.*parse_au_string'):
            au_sentence([AUCode(4), bad])
        with pytest.raises(TypeError, match='must be an AUCode'):
            au_key([bad])
    with pytest.raises(ValueError, match='empty'):
        au_sentence([])


def test_shuffle_is_seeded_permutation():
    items = aus((1, None), (2, None), (4, None), (7, None))
    fixed = au_sentence(items)
    draws = [au_sentence(items, order='shuffle', rng=np.random.default_rng(s)) for s in range(20)]
    assert len(set(draws)) > 3  # the order really varies
    words = _phrases(fixed)
    assert len(words) == 4
    for d in draws:  # ... and is always a permutation of the same phrases
        assert _phrases(d) == words
    again = [au_sentence(items, order='shuffle', rng=np.random.default_rng(s)) for s in range(20)]
    assert draws == again
    # random.Random and the numpy global RNG work as sources too
    py = au_sentence(items, order='shuffle', rng=random.Random(0))
    assert _phrases(py) == words
    np.random.seed(3)
    a = au_sentence(items, order='shuffle')
    np.random.seed(3)
    assert au_sentence(items, order='shuffle') == a


def _phrases(sentence):
    body = sentence[len('a combination of '):]
    return sorted(body.replace(' and ', ', ').split(', '))


def test_au_prompt_template_choice():
    items = aus((12, 'L'))
    assert au_prompt(items) == 'This micro-expression involves pulling the left corner of the lips.'
    assert au_prompt(items, 7) == \
        'Observing pulling the left corner of the lips helps identify this micro-expression.'
    rng = np.random.default_rng(0)
    used = Counter(TEMPLATES.index(_template_of(au_prompt(items, rng=rng), items))
                   for _ in range(700))
    assert set(used) == set(range(7))  # all 7 defaults, never 8-10
    used10 = {_template_of(au_prompt(items, rng=rng, enabled=range(10)), items) for _ in range(500)}
    assert len(used10) == 10
    with pytest.raises(IndexError):
        au_prompt(items, 10)


def _template_of(prompt, items):
    return prompt.replace(au_sentence(items), '{}')


def test_au_key_is_content_identity():
    a = aus((12, 'R'), (4, None))
    b = [AUCode(4), AUCode(12, 'R', 'B')]  # other order, intensity: same content
    assert au_key(a) == au_key(b) == '4+R12'
    assert au_key(aus((12, 'L'), (4, None))) != au_key(a)
    assert au_key(aus((12, 'L'), (4, None)), sides='drop') == au_key(a, sides='drop') == '4+12'


def test_emotion_prompt():
    assert emotion_prompt('Happiness') == 'This micro-expression shows happiness.'
    assert emotion_prompt('others') == 'This micro-expression shows another emotion.'
    assert emotion_prompt('anger', 2) == 'The emotion of this micro-expression is anger.'
    with pytest.raises(ValueError):
        emotion_prompt('  ')
