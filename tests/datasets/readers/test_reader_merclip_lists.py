"""read_merclip_lists on the MER-CLIP authors' own lists (../shared), and their AU sentences."""
import os
import os.path as osp

import pytest

from mer_clip.au import AUCode
from mer_clip.au.codes import format_au_list
from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import parse_au_sentence, read_merclip_lists
from mer_clip.datasets.readers.merclip_lists import read_au_map, subject_of_sample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
LISTS = osp.join(osp.dirname(REPO), 'shared', 'data', 'merclip_official_lists')
needs_lists = pytest.mark.skipif(not osp.isdir(LISTS), reason=f'{LISTS} is absent')


@pytest.mark.parametrize('sentence, codes', [
    ('raising the inner part of the brows', '1'),
    ('a combination of raising the inner part of the brows and pulling the corners of the lips',
     '1+12'),
    ('a combination of lowering the brows, raising the cheeks might be present, tightening the '
     'lids and closing the eyes', '4+6+7+43'),
    ('pulling the left corner of the lips or creating the left dimple', 'L12+L14'),
    ('a combination of stretching the lips down and to the left and tightening the neck',
     'L20+21'),
    ('a combination of creating the right dimple and raising the chin to the right', 'R14+R17'),
    ('a combination of Inflating the cheeks by exerting pressure from within the mouth, puckering '
     'the lips and compressing the nostrils', '13+18+39'),
    ('a combination of Right Cheek Raiser or Right Lip Corner Puller, Right Lip Corner Depressor',
     'R6+R12+R15'),
    ('a combination of Brow Lowerer, Lid Tightener, Head Forward', '4+7+57'),
    ('a combination of Left Upper Lip Raiser might be present, Lip Corner Puller', 'L10+12'),
])
def test_parse_au_sentence(sentence, codes):
    assert format_au_list(parse_au_sentence(sentence)) == codes


def test_unmappable_phrase_is_reported():
    with pytest.raises(AnnotationError, match="no AU is known for the phrase 'wiggling the ears'"):
        parse_au_sentence('a combination of lowering the brows and wiggling the ears',
                          where='map.txt:3')


def test_unmappable_lines_listed_together(tmp_path):
    m = tmp_path / 'AUlabel_map.txt'
    m.write_text('lowering the brows\nwiggling the ears\nraising the chin\nblinking twice\n')
    with pytest.raises(AnnotationError) as e:
        read_au_map(str(m))
    assert '2 AU map line(s)' in str(e.value)
    assert 'AUlabel_map.txt:2' in str(e.value) and 'AUlabel_map.txt:4' in str(e.value)
    s = tmp_path / 'short.txt'
    s.write_text('Brow Lowerer\nLip Corner Puller\nChin Raiser\nChin Raiser\n')
    m.write_text('lowering the brows\nraising the chin\nraising the chin\nraising the chin\n')
    with pytest.raises(AnnotationError, match='short.txt:2 disagree'):
        read_au_map(str(m), str(s))


@pytest.mark.parametrize('dataset, sample, subject', [
    ('samm', 'SA006_006_1_2', '006'), ('casme2', 'CA001_happiness_EP02_01f_001', 'sub01'),
    ('casme2', 'CA017_others_EP13_06_017', 'sub17'), ('casme3', 'spNO.014_J_1012', 'spNO.014'),
    ('dfme', 'sub0008-01h-01-happiness-01-happiness', 'sub0008')])
def test_subject_of_sample(dataset, sample, subject):
    assert subject_of_sample(dataset, sample) == subject


def test_subject_of_odd_name():
    with pytest.raises(AnnotationError, match="does not match"):
        subject_of_sample('casme2', 'CA001_happiness_EP02_01f_002')  # subject numbers disagree


@needs_lists
def test_samm_lists_records():
    recs = read_merclip_lists('samm', LISTS)
    assert len(recs) == 136 and len({r['subject'] for r in recs}) == 27
    r = recs[0]
    assert r['sample_id'] == 'SA006_006_1_2' and r['subject'] == '006'
    assert r['frame_dir'] == 'anger/SA006_006_1_2' and r['filename_tmpl'] == 'img_{:05d}.jpg'
    assert (r['onset'], r['apex'], r['offset']) == (1, None, 16)
    # samm_5class_AU_list.txt: index 27 -> "a combination of lowering the brows and tightening
    # the lids" (Brow Lowerer, Lid Tightener)
    assert r['aus'] == 'a combination of lowering the brows and tightening the lids'
    assert r['au_list'] == [AUCode(4).to_dict(), AUCode(7).to_dict()]


@needs_lists
def test_every_map_line_parses_and_all_aus():
    aus = set()
    for ds in ('samm', 'casme2', 'casme3', 'dfme'):
        short = osp.join(LISTS, ds, 'AUlabel_map_short.txt')
        for _, codes in read_au_map(osp.join(LISTS, ds, 'AUlabel_map.txt'),
                                    short if osp.isfile(short) else None):
            aus.update(c.au for c in codes)
    assert sorted(aus) == [1, 2, 4, 5, 6, 7, 9, 10, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23,
                           24, 25, 26, 28, 31, 38, 39, 43, 57, 58]


@needs_lists
def test_casme2_frame_counts_missing_then_counted(tmp_path):
    # the 6 fear/sadness samples appear only in the 2-column 7-class list: no frame count
    with pytest.raises(AnnotationError, match=r'6 sample\(s\) have no frame count.*data_root'):
        read_merclip_lists('casme2', LISTS)
    missing = []
    for line in open(osp.join(LISTS, 'casme2', 'casme2_7class_emolabel_list.txt')):
        cls_sample = line.split()[0]
        if cls_sample.split('/')[0] in ('fear', 'sadness'):
            missing.append(cls_sample)
    for i, cls_sample in enumerate(missing):
        os.makedirs(tmp_path / cls_sample)
        for k in range(1, 11 + i):
            (tmp_path / cls_sample / f'img_{k:05d}.jpg').write_bytes(b'')
    recs = read_merclip_lists('casme2', LISTS, data_root=str(tmp_path))
    by_id = {r['sample_id']: r for r in recs}
    assert len(recs) == 255
    assert [by_id[s.split('/')[1]]['offset'] for s in missing] == list(range(10, 16))
    assert by_id['CA001_happiness_EP02_01f_001']['offset'] == 15  # from the lists


@needs_lists
def test_dfme_splits():
    recs = read_merclip_lists('dfme', LISTS, num_frames=16)
    counts = {}
    for r in recs:
        counts[r['split']] = counts.get(r['split'], 0) + 1
    assert counts == {'test_a': 474, 'test_b': 299, 'train': 1856}
    train_subj = {r['subject'] for r in recs if r['split'] == 'train'}
    test_subj = {r['subject'] for r in recs if r['split'] != 'train'}
    assert not train_subj & test_subj  # DFME splits do not share subjects
