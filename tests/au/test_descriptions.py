"""AU descriptions: Table II, the authors' phrasing for other AUs, sides, fallback, registry."""
import glob
import os.path as osp
import re

import pytest

from mer_clip.au import descriptions as D
from mer_clip.au.descriptions import (TABLE_II_AUS, describe_au, get_au_description, known_aus,
                                      register_au)

LISTS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))),
                 'shared', 'data', 'merclip_official_lists')

# Table II of the paper (spec), verbatim
TABLE_II = {
    1: ('Inner Brow Raiser', 'raising the inner part of the brows'),
    2: ('Outer Brow Raiser', 'raising the outer part of the brows'),
    4: ('Brow Lowerer', 'lowering the brows'),
    5: ('Upper Lid Raiser', 'raising the upper lids'),
    6: ('Cheek Raiser', 'raising the cheeks'),
    7: ('Lid Tightener', 'tightening the lids'),
    9: ('Nose Wrinkler', 'wrinkling the nose'),
    10: ('Upper Lip Raiser', 'raising the upper lip'),
    12: ('Lip Corner Puller', 'pulling the corners of the lips'),
    14: ('Dimpler', 'creating the dimples'),
    15: ('Lip Corner Depressor', 'depressing the corners of the lips'),
    16: ('Lower Lip Depressor', 'depressing the lower lip'),
    17: ('Chin Raiser', 'raising the chin'),
    20: ('Lip Stretcher', 'stretching the lips'),
    23: ('Lip Tightener', 'tightening the lips'),
    24: ('Lip Presser', 'pressing the lips'),
    25: ('Lips Part', 'parting the lips'),
    28: ('Lip Suck', 'sucking the lips'),
}


def test_table_ii_verbatim():
    assert TABLE_II_AUS == tuple(TABLE_II)
    for au, (name, action) in TABLE_II.items():
        desc = get_au_description(au)
        assert (desc.facs_name, desc.action, desc.in_table) == (name, action, True)
    assert sum(d.in_table for d in known_aus().values()) == 18


def test_aus_outside_table_use_authors_phrasing():
    assert describe_au(26) == 'dropping the jaw'
    assert describe_au(43) == 'closing the eyes'
    assert describe_au(38) == 'dilating the nostrils'
    assert describe_au(39) == 'compressing the nostrils'
    assert describe_au(31) == 'clenching the jaw'
    assert describe_au(58) == 'moving the head back'
    for au in (11, 13, 18, 22, 27, 45, 57):  # present, not the fallback
        assert not describe_au(au).startswith('action unit')
    assert not get_au_description(45).in_table


@pytest.mark.parametrize('au,side,text', [
    (12, 'L', 'pulling the left corner of the lips'),
    (12, 'R', 'pulling the right corner of the lips'),
    (2, 'L', 'raising the outer part of the left brow'),
    (9, 'L', 'wrinkling the left side of the nose'),
    (14, 'R', 'creating the right dimple'),
    (17, 'R', 'raising the chin to the right'),
    (20, 'L', 'stretching the lips down and to the left'),
    (18, 'R', 'puckering the lips to the right'),
    (12, None, 'pulling the corners of the lips'),
    (51, 'L', 'turning the head to the left'),  # no side form: side ignored
])
def test_sided_rendering(au, side, text):
    assert describe_au(au, side) == text


def test_facs_style_and_bad_side():
    assert describe_au(12, 'L', style='facs') == 'Left Lip Corner Puller'
    assert describe_au(4, style='facs') == 'Brow Lowerer'
    with pytest.raises(ValueError, match='side'):
        describe_au(12, 'X')
    with pytest.raises(ValueError, match='style'):
        describe_au(12, style='poetic')


def test_every_sided_form_names_its_side():
    for desc in known_aus().values():
        if desc.sided:
            assert 'left' in desc.render('L') and 'right' in desc.render('R'), desc


def test_fallback_and_error(caplog):
    D._WARNED_UNKNOWN.discard(97)
    with caplog.at_level('WARNING'):
        assert describe_au(97) == 'action unit 97'
        describe_au(97)
    assert sum('AU 97' in r.message for r in caplog.records) == 1  # warned once
    assert describe_au(97, style='facs') == 'AU 97'
    with pytest.raises(KeyError, match='register_au'):
        describe_au(97, fallback='error')
    with pytest.raises(ValueError):
        describe_au('twelve')


def test_register_au():
    try:
        register_au(98, 'Test Mover', 'moving the test', 'moving the {side} test')
        assert describe_au(98, 'R') == 'moving the right test'
        with pytest.raises(KeyError, match='overwrite'):
            register_au(98, 'Other', 'other')
        register_au(98, 'Other', 'doing other things', overwrite=True)
        assert describe_au(98, 'L') == 'doing other things'
        with pytest.raises(ValueError, match='side'):
            register_au(96, 'Bad', 'bad', 'no placeholder here')
    finally:
        D._REGISTRY.pop(98, None)


def _segmentable(sentence, phrases):
    """Can the authors' AU sentence be cut into our phrases joined by ', ' / ' and '?"""
    body = sentence[len('a combination of '):] if sentence.startswith('a combination of ') \
        else sentence
    alternatives = '|'.join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    pattern = f'(?:{alternatives})(?:(?:, | and )(?:{alternatives}))*'
    return re.fullmatch(pattern, body) is not None


@pytest.mark.skipif(not osp.isdir(LISTS), reason='authors lists not available')
def test_authors_sentences_are_made_of_our_phrases():
    """Every AU sentence of the authors' four datasets (bar their 'X or Y' / 'might be present'
    uncertainty notes) is a join of our phrases: our table covers all AUs they describe, worded as
    they word them."""
    phrases = set()
    for desc in known_aus().values():
        phrases.add(desc.render(None).lower())
        for side in 'LR':
            phrases.add(desc.render(side).lower())
    checked, missing = 0, []
    for path in glob.glob(osp.join(LISTS, '*', 'AUlabel_map.txt')):
        for line in open(path):
            line = line.strip().lower()
            if not line or ' might be present' in line or ' or ' in line:
                continue
            checked += 1
            if not _segmentable(line, phrases):
                missing.append((osp.basename(osp.dirname(path)), line))
    assert checked > 800
    assert not missing, missing[:10]


def _authors_aus():
    """(dataset, line, short line or None, codes) of every line of the authors' AU maps."""
    from mer_clip.datasets.readers.merclip_lists import read_au_map
    out = []
    for folder in sorted(glob.glob(osp.join(LISTS, '*', ''))):
        short = osp.join(folder, 'AUlabel_map_short.txt')
        short = short if osp.isfile(short) else None
        short_lines = [ln.strip() for ln in open(short)] if short else None
        for i, (line, codes) in enumerate(read_au_map(osp.join(folder, 'AUlabel_map.txt'), short)):
            out.append((osp.basename(osp.dirname(folder)), line, short_lines and short_lines[i],
                        codes))
    return out


@pytest.mark.skipif(not osp.isdir(LISTS), reason=f'authors lists absent: {LISTS}')
def test_authors_lists_render_as_before():
    """Every AU (with its side) of the authors' lists: the 'merclip' vocabulary renders it as their
    lines write it (the phrases their reader used to type out); the table renders it the same way,
    except AU 13 (FACS 2002 "Sharp Lip Puller" in the table, the 1978 "Cheek Puffer" there)."""
    pairs, differ = set(), set()
    for dataset, line, short, codes in _authors_aus():
        for code in codes:
            pairs.add((code.au, code.side))
            authors = describe_au(code.au, code.side, vocabulary='merclip')
            assert authors.lower() in line.lower(), (dataset, line, authors)
            if short is not None:
                name = describe_au(code.au, code.side, style='facs', vocabulary='merclip')
                assert name.lower() in short.lower(), (dataset, short, name)
            for style in ('action', 'facs'):
                if describe_au(code.au, code.side, style) != describe_au(
                        code.au, code.side, style, vocabulary='merclip'):
                    differ.add(code.au)
    assert len(pairs) == 54  # 30 AUs, 24 of them also with a side
    assert differ == {13}
    assert describe_au(13) == 'sharply pulling up the corners of the lips'
    assert describe_au(13, vocabulary='merclip') == \
        'inflating the cheeks by exerting pressure from within the mouth'


def test_vocabulary_overrides_only_its_entries():
    table, authors = known_aus(), known_aus('merclip')
    assert set(table) == set(authors)
    assert {au for au in table if table[au] != authors[au]} == set(D.MERCLIP_WORDING) == {13}
    assert get_au_description(12, vocabulary='merclip') is get_au_description(12)
    with pytest.raises(ValueError, match='vocabulary'):
        describe_au(12, vocabulary='casme')


def test_au_phrases_invert_rendering():
    phrases = D.au_phrases()
    for desc in known_aus().values():
        for side in ('L', 'R', None) if desc.sided else (None, ):
            for style in ('action', 'facs'):
                assert phrases[desc.render(side, style).lower()] == (desc.au, side)
    # the authors' AU 13 phrase is the table's AU 34 phrase: in their vocabulary it means 13
    cheek = 'inflating the cheeks by exerting pressure from within the mouth'
    assert phrases[cheek] == (34, None) and D.au_phrases('merclip')[cheek] == (13, None)
    assert D.au_phrases('merclip')['cheek puffer'] == (13, None)
    try:  # two table entries that read the same are an error, not a silent pick
        register_au(98, 'Brow Lowerer Again', 'lowering the brows')
        with pytest.raises(ValueError, match='both read'):
            D.au_phrases()
    finally:
        D._REGISTRY.pop(98, None)


def test_au_table_file_is_checked(tmp_path):
    good = tmp_path / 'table.txt'
    good.write_text('# comment\n[table II]\n'
                    '12 | Lip Corner Puller | pulling the corners | pulling the {side} corner\n\n'
                    '[other]\n19 | Tongue Show | showing the tongue | -\n')
    sections = D.read_au_table(str(good))
    assert [d.au for d in sections['table II']] == [12] and sections['table II'][0].in_table
    assert sections['other'][0].sided is None and not sections['other'][0].in_table
    for bad in ('12 | Lip Corner Puller | pulling\n',  # outside a section
                '[other]\n12 | Lip Corner Puller | pulling\n',  # three fields
                '[other]\n12 | Lip Corner Puller | pulling | pulling the left corner\n'):
        (tmp_path / 'bad.txt').write_text(bad)
        with pytest.raises(ValueError, match=r'bad.txt, line \d'):
            D.read_au_table(str(tmp_path / 'bad.txt'))
