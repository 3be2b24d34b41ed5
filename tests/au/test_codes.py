"""AU strings of the ME releases -> AUCode lists: every documented case and the rejections."""
import math

import pytest

from mer_clip.au import AUCode, AUParseError, parse_au_string
from mer_clip.au.codes import format_au_list


def fmt(raw):
    return format_au_list(parse_au_string(raw))


@pytest.mark.parametrize('raw, expected', [
    ('R12', 'R12'), ('L14', 'L14'), ('4+7', '4+7'), ('12B', '12B'), ('R12A', 'R12A'),
    ('AU12', '12'), ('au 12', '12'), ('1+2+R4', '1+2+R4'), ('4+L10', '4+L10'),
    ('1, 2; 4', '1+2+4'), ('1 2  4', '1+2+4'), ('1/2', '1+2'), ('1&2', '1+2'),
    ('014', '14'), ('12(A)', '12A'), ('12 (b)', '12B'), ('r12a', 'R12A'), ('AU R12', 'R12'),
    ('L AU12', 'L12'), ('AU12B', '12B'), ('1+2+', '1+2'), (' +4 ', '4'),
    # uncertain codes are kept (raw string keeps the marker)
    ('12?', '12'), ('12 ?', '12'), ('(43)', '43'), ('( R12A )', 'R12A'), ('4+?', '4'),
    # alternatives keep both
    ('12/14', '12+14'),
    # U/T/B prefixes: no left/right information
    ('U12', '12'), ('T23', '23'), ('B28', '28'),
    # sorted by AU then side (none, L, R); exact duplicates once
    ('R12+L12+12', '12+L12+R12'), ('25+4+12', '4+12+25'), ('12+12', '12'),
    # empty cells
    ('', ''), ('  ', ''), ('none', ''), ('None', ''), ('N/A', ''), ('-', ''), ('?', ''),
    (None, ''), (float('nan'), ''),
    # numeric cells
    (12, '12'), (12.0, '12'),
])
def test_parse_cases(raw, expected):
    assert fmt(raw) == expected


def test_parsed_fields_and_order():
    codes = parse_au_string('R12A+4+L12')
    assert codes == [AUCode(4), AUCode(12, 'L'), AUCode(12, 'R', 'A')]
    assert codes[2].au == 12 and codes[2].side == 'R' and codes[2].intensity == 'A'


@pytest.mark.parametrize('raw, why', [
    ('12B28', 'no separator'), ('A12', "unexpected 'A12'"), ('0', 'outside 1..99'),
    ('120', 'outside 1..99'), ('12-14', 'no separator'), ('(4+7)', 'unbalanced'),
    ('12)', 'unbalanced'), ('4 x', "unexpected 'x'"), ('LR12', 'two side prefixes'),
    ('12F', 'no separator'), ('12 b', "unexpected 'b'"), (1.5, 'fractional'),
    (True, 'boolean'), (0, 'outside 1..99'), ([12], 'unsupported type'),
])
def test_rejections_name_where_and_value(raw, why):
    with pytest.raises(AUParseError) as e:
        parse_au_string(raw, where='SAMM.xlsx, row 17')
    msg = str(e.value)
    assert msg.startswith('SAMM.xlsx, row 17: ')
    assert repr(raw) in msg and why in msg
    assert 'Fix the cell' in msg  # says what to do
    assert isinstance(e.value, ValueError)


def test_round_trip_and_flip():
    codes = parse_au_string('1+2+L4B+R12A+14')
    assert parse_au_string(format_au_list(codes)) == codes
    for c in codes:
        assert AUCode.from_dict(c.to_dict()) == c
        assert c.flipped().flipped() == c
    assert AUCode(12, 'R', 'A').flipped() == AUCode(12, 'L', 'A')
    assert AUCode(4).flipped() == AUCode(4)
    assert AUCode(12, 'L').to_dict() == {'au': 12, 'side': 'L', 'intensity': None}


@pytest.mark.parametrize('kwargs', [dict(au=0), dict(au=100), dict(au=True), dict(au=12.0),
                                    dict(au=12, side='X'), dict(au=12, intensity='F')])
def test_aucode_validates(kwargs):
    with pytest.raises(ValueError):
        AUCode(**kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match='unknown keys'):
        AUCode.from_dict({'au': 1, 'sde': 'L'})
    with pytest.raises(ValueError, match="key 'au'"):
        AUCode.from_dict({'side': 'L'})


def test_nan_is_float_nan():
    assert math.isnan(float('nan')) and parse_au_string(float('nan')) == []
