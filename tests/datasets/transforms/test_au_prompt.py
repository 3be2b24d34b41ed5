"""GenerateAUPrompt: training draws among the enabled templates (seeded), test is fixed, errors."""
import numpy as np
import pytest
from mmcv.transforms import Compose

from mmaction.registry import TRANSFORMS
from mer_clip.au.codes import AUCode
from mer_clip.au.prompts import TEMPLATES, au_sentence
from mer_clip.datasets.transforms import GenerateAUPrompt


def sample(au_list=None, **kw):
    r = dict(sample_id='006_1_2', emotion='Anger',
             au_list=[AUCode(4), AUCode(12, 'R')] if au_list is None else au_list)
    r.update(kw)
    return r


SENT = 'a combination of lowering the brows and pulling the right corner of the lips'


def test_registered_and_test_mode_is_fixed():
    t = TRANSFORMS.build(dict(type='GenerateAUPrompt', test_mode=True))
    for _ in range(5):
        out = t(sample())
        assert out['au_prompt'] == TEMPLATES[0].format(SENT)
        assert out['au_key'] == '4+R12'
    t3 = GenerateAUPrompt(test_mode=True, test_template=3, order='shuffle')
    assert t3(sample())['au_prompt'] == TEMPLATES[3].format(SENT)  # order fixed in test mode


def test_training_draws_first_seven_and_is_seeded():
    t = GenerateAUPrompt()
    np.random.seed(0)
    first = [t(sample())['au_prompt'] for _ in range(300)]
    templates = {p.replace(SENT, '{}') for p in first}
    assert templates == set(TEMPLATES[:7])
    np.random.seed(0)
    assert [t(sample())['au_prompt'] for _ in range(300)] == first  # mmengine's seed repeats it
    t10 = GenerateAUPrompt(enabled_templates=10)
    assert len({t10(sample())['au_prompt'] for _ in range(400)}) == 10
    t2 = GenerateAUPrompt(enabled_templates=[7, 8])
    assert {t2(sample())['au_prompt'].replace(SENT, '{}') for _ in range(50)} == set(TEMPLATES[7:9])


def test_options_pass_through():
    out = GenerateAUPrompt(test_mode=True, sides='drop', style='facs')(sample())
    assert out['au_prompt'] == TEMPLATES[0].format('a combination of Brow Lowerer and Lip Corner '
                                                   'Puller')
    assert out['au_key'] == '4+12'
    np.random.seed(1)
    shuffled = {GenerateAUPrompt(order='shuffle', enabled_templates=1)(sample())['au_prompt']
                for _ in range(30)}
    assert len(shuffled) == 2  # both orders of the two AUs
    own = GenerateAUPrompt(test_mode=True, templates=['Face: {}.'])
    assert own(sample())['au_prompt'] == f'Face: {SENT}.'
    cheek = sample([AUCode(13)])
    authors = GenerateAUPrompt(test_mode=True, vocabulary='merclip')(dict(cheek))
    assert authors['au_prompt'] == TEMPLATES[0].format(
        'inflating the cheeks by exerting pressure from within the mouth')
    assert 'sharply pulling up' in GenerateAUPrompt(test_mode=True)(dict(cheek))['au_prompt']
    with pytest.raises(ValueError, match='vocabulary'):
        GenerateAUPrompt(vocabulary='samm')


def test_emotion_guided_mode():
    t = GenerateAUPrompt(mode='emotion', test_mode=True)
    out = t(sample(emotion='Happiness'))
    assert out['au_prompt'] == 'This micro-expression shows happiness.'
    assert out['au_key'] == 'happiness'
    with pytest.raises(KeyError, match='006_1_2'):
        t(dict(sample_id='006_1_2', au_list=[]))


def test_flip_before_prompt_swaps_the_side():
    pipe = Compose([TRANSFORMS.build(dict(type='MEFlip', flip_ratio=1.0)),
                    TRANSFORMS.build(dict(type='GenerateAUPrompt', test_mode=True))])
    out = pipe(sample(imgs=[np.zeros((4, 4, 3), np.uint8)], modality='RGB'))
    assert out['au_prompt'] == TEMPLATES[0].format(
        au_sentence([AUCode(4), AUCode(12, 'L')]))
    assert 'left corner' in out['au_prompt']


def test_bad_samples_raise_with_their_id():
    t = GenerateAUPrompt(test_mode=True)
    with pytest.raises(KeyError, match='006_1_2'):
        t(dict(sample_id='006_1_2'))
    with pytest.raises(ValueError, match='006_1_2.*empty_prompt'):
        t(sample(au_list=[]))
    out = GenerateAUPrompt(empty_prompt='a neutral face.')(sample(au_list=[]))
    assert out['au_prompt'] == 'a neutral face.' and out['au_key'] == ''
    with pytest.raises(KeyError, match='006_1_2'):
        GenerateAUPrompt(test_mode=True, fallback='error')(sample(au_list=[AUCode(97)]))
    with pytest.raises(TypeError, match='006_1_2.*must be an AUCode'):  # the JSON form
        GenerateAUPrompt(test_mode=True)(sample(au_list=[{'au': 4, 'side': None}]))
    with pytest.raises(ValueError):
        GenerateAUPrompt(order='random')
    with pytest.raises(IndexError):
        GenerateAUPrompt(enabled_templates=[10])
    with pytest.raises(ValueError):
        GenerateAUPrompt(templates=['no placeholder'])



def test_mask_empty_marks_samples_without_aus_instead_of_inventing_a_prompt():
    t = GenerateAUPrompt(mask_empty=True)
    out = t(sample(au_list=[]))  # SMIC: aus null, au_list []
    assert out['has_aus'] is False and out['au_prompt'] == '' and out['au_key'] == ''
    out = t(sample())
    assert out['has_aus'] is True and SENT in out['au_prompt']
    assert GenerateAUPrompt(mode='emotion')(sample(au_list=[]))['has_aus'] is True
    # the fixed text of empty_prompt counts as the sample's AU text: it takes part
    assert GenerateAUPrompt(empty_prompt='no action')(sample(au_list=[]))['has_aus'] is True
    with pytest.raises(ValueError, match='mask_empty=True'):
        GenerateAUPrompt()(sample(au_list=[]))  # the error names the option
    with pytest.raises(ValueError, match='either empty_prompt'):
        GenerateAUPrompt(mask_empty=True, empty_prompt='x')
