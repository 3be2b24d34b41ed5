"""AU strings of the ME releases -> AUCode lists: every documented case and the rejections."""
import copy
import math
import pickle

import pytest

from mer_clip.au import AUCode, AUParseError, parse_au_string
from mer_clip.au.codes import format_au_list, require_codes


def fmt(raw):
    return format_au_list(parse_au_string(raw))


@pytest.mark.parametrize('raw, expected', [
    ('R12', 'R12'), ('L14', 'L14'), ('4+7', '4+7'), ('12B', '12B'), ('R12A', 'R12A'),
    ('AU12', '12'), ('au 12', '12'), ('1+2+R4', '1+2+R4'), ('4+L10', '4+L10'),
    ('1, 2; 4', '1+2+4'), ('1 2  4', '1+2+4'), ('1&2', '1+2'), ('L 12', 'L12'),
    ('014', '14'), ('12(A)', '12A'), ('12 (b)', '12B'), ('r12a', 'R12A'), ('AU R12', 'R12'),
    ('L AU12', 'L12'), ('AU12B', '12B'), ('1+2+', '1+2'), (' +4 ', '4'),
    # uncertain codes are kept (raw string keeps the marker)
    ('12?', '12'), ('12 ?', '12'), ('(43)', '43'), ('( R12A )', 'R12A'), ('4+?', '4'),
    # alternatives keep every code, each flagged uncertain ("/" = or in SAMM's key)
    ('12/14', 'ref(12)+ref(14)'), ('1/2', 'ref(1)+ref(2)'), ('L12 or L14', 'ref(L12)+ref(L14)'),
    ('R14A or 17A or 24A', 'ref(R14A)+ref(17A)+ref(24A)'), ('(R6 or R12)+R15',
                                                            'ref(R6)+ref(R12)+R15'),
    ('(R6 or R12) + R15', 'ref(R6)+ref(R12)+R15'),
    # ref(N): kept, uncertain
    ('ref(7B)+43', 'ref(7B)+43'), ('7B+ ref(43)', '7B+ref(43)'), ('4D+ref(6)+7C+43E',
                                                                   '4D+ref(6)+7C+43E'),
    ('ref(L10)+A12B', 'ref(L10)+A12B'),
    # asymmetric: not a side
    ('A12', 'A12'), ('A9+12', 'A9+12'), ('A1B+A2C', 'A1B+A2C'), ('7C+A12B', '7C+A12B'),
    ('a14c', 'A14C'), ('A/L12', 'ref(A12)+ref(L12)'),
    # intensity alternatives: the intensity is left unset
    ('10A/B', '10'), ('4A/B', '4'),
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
    ('12B28', 'no separator'), ('0', 'outside 1..99'), ('R14+17+soft focus', "'soft focus'"),
    ('120', 'outside 1..99'), ('12-14', 'no separator'), ('(4+7)', 'unbalanced'),
    ('12)', 'unbalanced'), ('4 x', "unexpected 'x'"), ('LR12', 'two side prefixes'),
    ('12F', 'no separator'), ('12 b', "unexpected 'b'"), (1.5, 'fractional'),
    ('ref(12', 'unbalanced'), ('(R6 or R12', 'unbalanced'), ('AL12', 'two side prefixes'),
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
    codes = parse_au_string('1+2+L4B+R12A+14+A7C+ref(R6)+ref(A9)')
    assert parse_au_string(format_au_list(codes)) == codes
    for c in codes:
        assert AUCode.from_dict(c.to_dict()) == c
        assert c.flipped().flipped() == c
    assert AUCode(12, 'R', 'A').flipped() == AUCode(12, 'L', 'A')
    assert AUCode(4).flipped() == AUCode(4)
    assert AUCode(12, 'L').to_dict() == {'au': 12, 'side': 'L', 'intensity': None}


def test_codes_pickle_and_copy():
    """A dataset with serialize_data pickles its data infos, and get_data_info deep-copies them."""
    codes = parse_au_string('4+R12A+A7C+ref(L6)')
    assert pickle.loads(pickle.dumps(codes)) == codes == copy.deepcopy(codes)
    assert len({*codes, *pickle.loads(pickle.dumps(codes))}) == len(codes)  # hashable, equal


def test_require_codes_names_what_to_pass():
    assert require_codes(iter([AUCode(4)])) == [AUCode(4)]
    with pytest.raises(TypeError, match=r"^sample x: an AU label must be an AUCode .* got dict "
                                        r"\{'au': 4\}; write AUCode\(12, \"R\"\)"):
        require_codes([AUCode(1), {'au': 4}], where='sample x')
    with pytest.raises(TypeError, match='^an AU label must be an AUCode .* got int 4;'):
        require_codes([4])


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


def test_asymmetric_and_uncertain_flags():
    a12, = parse_au_string('A12B')
    assert a12 == AUCode(12, None, 'B', asymmetric=True) and a12.side is None
    assert a12.to_dict() == {'au': 12, 'side': None, 'intensity': 'B', 'asymmetric': True}
    assert a12.flipped() == a12
    r6, r12, r15 = parse_au_string('(R6 or R12)+R15')
    assert (r6.uncertain, r12.uncertain, r15.uncertain) == (True, True, False)
    assert r6.flipped() == AUCode(6, 'L', uncertain=True)
    assert AUCode.from_dict(r6.to_dict()) == r6 and r6.to_dict()['uncertain'] is True
    # "?" and "(12)" are not uncertainty flags (SAMM's "?" = unclear offset)
    assert parse_au_string('12?') == parse_au_string('(12)') == [AUCode(12)]
    with pytest.raises(ValueError, match='both sides'):
        AUCode(12, 'L', asymmetric=True)
    with pytest.raises(ValueError, match='bool'):
        AUCode(12, uncertain=1)


@pytest.mark.parametrize('raw, codes, kinds, unparsed', [
    ('R14+17+soft focus', 'R14+17', ['free_text'], ['soft focus']),
    ('R14+soft focus+12', '12+R14', ['free_text'], ['soft focus']),
    ('12B28+4', '4+12', ['unparseable'], ['B28']),
    ('(4+7)+L2', 'L2', ['unparseable'], ['(4+7)']),
    ('A/L12', 'ref(A12)+ref(L12)', ['asymmetric', 'side_alternatives'], []),
    ('10A/B+ref(5)', 'ref(5)+10', ['intensity_alternatives', 'ref'], []),
    ('L12 or L14', 'ref(L12)+ref(L14)', ['alternatives'], []),
    ('4+7', '4+7', [], []),
    (True, '', ['unparseable'], ['True']),
])
def test_lenient_cell_keeps_what_it_reads(raw, codes, kinds, unparsed):
    from mer_clip.au.codes import parse_au_cell
    cell = parse_au_cell(raw, where='x')
    assert format_au_list(cell.codes) == codes
    assert [k for k, _ in cell.notes] == kinds
    assert cell.unparsed == unparsed
