"""Canonical annotation JSON: make / dump / load and the validation errors."""
import json

import pytest

from mer_clip.au import AUCode
from mer_clip.datasets.annotation import (AnnotationError, au_list_from_json, au_list_to_json,
                                          dump_annotations, load_annotations, make_record)


def _rec(**over):
    kw = dict(sample_id='006_1_2', subject='006', emotion='Anger', aus='R12+4', onset=5562,
              apex=5588, offset=5632, frame_dir='006/006_1_2', filename_tmpl='006_{:05d}.jpg')
    kw.update(over)
    return kw


def test_make_record_parses_aus_and_drops_unset_optionals():
    r = make_record(**_rec())
    assert r['au_list'] == [{'au': 4, 'side': None, 'intensity': None},
                            {'au': 12, 'side': 'R', 'intensity': None}]
    assert r['aus'] == 'R12+4'
    assert 'split' not in r and 'video' not in r and 'total_frames' not in r
    r = make_record(**_rec(au_list=[AUCode(7), {'au': 1, 'side': 'L'}], split='train'))
    assert [c['au'] for c in r['au_list']] == [1, 7] and r['split'] == 'train'


def test_au_list_json_form():
    """Dicts in the file, AUCodes in memory: sorted, unique, flags kept, errors name the place."""
    codes = au_list_from_json([{'au': 12, 'side': 'R'}, {'au': 4, 'side': None, 'intensity': 'B'},
                               AUCode(7, asymmetric=True), {'au': 4, 'intensity': 'B'}], 'here')
    assert codes == [AUCode(4, intensity='B'), AUCode(7, asymmetric=True), AUCode(12, 'R')]
    assert au_list_to_json(codes) == [
        {'au': 4, 'side': None, 'intensity': 'B'},
        {'au': 7, 'side': None, 'intensity': None, 'asymmetric': True},
        {'au': 12, 'side': 'R', 'intensity': None}]
    assert au_list_from_json(au_list_to_json(codes), 'here') == codes
    with pytest.raises(AnnotationError, match=r"^here: bad au_list\[0\] 'R12'"):
        au_list_from_json(['R12'], 'here')


def test_dump_load_round_trip(tmp_path):
    recs = [make_record(**_rec()), make_record(**_rec(sample_id='x', apex=None)),
            make_record(sample_id='v', subject='007', emotion='Fear', aus=None, onset=0,
                        offset=40, video='007/v.mp4', total_frames=41)]
    path = str(tmp_path / 'sub' / 'ann.json')
    dump_annotations(recs, path, dict(dataset_name='samm'))
    meta, data = load_annotations(path)
    assert meta == dict(dataset_name='samm', format_version=1)
    assert data == recs
    assert data[1]['apex'] is None and data[2]['au_list'] == []


@pytest.mark.parametrize('over, match', [
    (dict(onset=10, offset=5, apex=None), 'onset 10 > offset 5'),
    (dict(apex=9999), r'apex 9999 is outside \[onset, offset\] = \[5562, 5632\]'),
    (dict(apex='5588'), 'apex'),
    (dict(subject=6), 'subject must be a non-empty string'),
    (dict(emotion=''), 'emotion must be a non-empty string'),
    (dict(onset=1.0), 'onset and offset must be non-negative integers'),
    (dict(filename_tmpl='img{name}.jpg'), 'cannot format a frame number'),
    (dict(frame_dir=None, filename_tmpl=None), 'needs frame_dir and filename_tmpl'),
    (dict(video='a.mp4'), 'either frame_dir\\+filename_tmpl or video'),
    (dict(total_frames=0), 'total_frames must be a positive integer'),
    (dict(au_list=[{'au': 12, 'side': 'X'}]), r"bad au_list\[0\]"),
    (dict(au_list='R12'), 'au_list must be a list'),
])
def test_make_record_errors(over, match):
    with pytest.raises(AnnotationError, match=match):
        make_record(where='SAMM.xlsx, row 15', **_rec(**over))



def _image_rec(**over):
    """A sample known only by derived images (the published MEGC2019 composite): no frames."""
    kw = dict(sample_id='smic/s01_s01_ne_01', subject='smic/s01', emotion='negative', aus=None,
              au_list=[], flow_image='flow/s01_s01_ne_01.png', apex_image='apex/s01_ne_01.jpg')
    kw.update(over)
    return kw


def test_image_only_records(tmp_path):
    r = make_record(**_image_rec())
    assert r['onset'] is None and r['apex'] is None and r['offset'] is None
    assert r['flow_image'] == 'flow/s01_s01_ne_01.png' and 'frame_dir' not in r
    flow_only = make_record(**_image_rec(sample_id='b', apex_image=None))
    assert 'apex_image' not in flow_only
    # frame numbers may still be given (checked as for clips), and a clip may carry images too
    assert make_record(**_image_rec(sample_id='c', onset=3, apex=5, offset=9))['apex'] == 5
    clip = make_record(**_rec(flow_image='006/006_1_2/flow_28x28.png'))
    path = str(tmp_path / 'ann.json')
    dump_annotations([r, flow_only, clip], path)
    assert load_annotations(path)[1] == [r, flow_only, clip]


@pytest.mark.parametrize('over, match', [
    (dict(apex=5), 'apex 5 without onset/offset'),
    (dict(onset=3), 'onset and offset must be non-negative integers'),
    (dict(flow_image=7), 'flow_image must be a path string'),
    (dict(flow_image=None, apex_image=None), 'needs frame_dir and filename_tmpl .* or an image'),
    (dict(flow_image=''), 'flow_image must be a path string'),
])
def test_image_only_record_errors(over, match):
    with pytest.raises(AnnotationError, match=match):
        make_record(**_image_rec(**over))


def _write(tmp_path, data_list, meta=None):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps({'metainfo': meta or {}, 'data_list': data_list}))
    return str(path)


def test_load_errors_name_file_index_and_sample(tmp_path):
    good = make_record(**_rec())
    missing = dict(good, sample_id='b')
    del missing['apex']
    path = _write(tmp_path, [good, missing])
    with pytest.raises(AnnotationError) as e:
        load_annotations(path)
    assert f"{path}: data_list[1] (sample_id='b'): missing key(s) ['apex']" in str(e.value)

    path = _write(tmp_path, [good, dict(good, onset=5700, apex=None)])
    with pytest.raises(AnnotationError, match=r"data_list\[1\] \(sample_id='006_1_2'\): onset"):
        load_annotations(path)

    path = _write(tmp_path, [good, dict(good, subject='007')])
    with pytest.raises(AnnotationError, match=r"data_list\[1\] .*duplicated sample_id, first at "
                                              r"data_list\[0\]"):
        load_annotations(path)

    path = _write(tmp_path, [dict(good, au_list=[{'au': 0}])])
    with pytest.raises(AnnotationError, match=r"data_list\[0\] .*bad au_list\[0\]"):
        load_annotations(path)


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(AnnotationError, match='not found'):
        load_annotations(str(tmp_path / 'nope.json'))
    p = tmp_path / 'x.json'
    p.write_text('{"data_list": ')
    with pytest.raises(AnnotationError, match='not valid JSON'):
        load_annotations(str(p))
    p.write_text('[]')
    with pytest.raises(AnnotationError, match='expected'):
        load_annotations(str(p))
    with pytest.raises(AnnotationError, match='format_version 2'):
        load_annotations(_write(tmp_path, [], meta=dict(format_version=2)))


def test_dump_validates_before_writing(tmp_path):
    good = make_record(**_rec())
    path = tmp_path / 'out.json'
    with pytest.raises(AnnotationError, match='duplicated sample_id'):
        dump_annotations([good, dict(good)], str(path))
    assert not path.exists()


@pytest.mark.parametrize('over, match', [
    # a non-integer apex is a type error, not "outside [onset, offset]"
    (dict(apex=5588.5), r'apex must be an integer frame number \(or null when unknown\), '
                        r'got 5588.5'),
    (dict(apex='5588'), "apex must be an integer frame number .*got '5588'"),
    # total_frames is checked against onset / offset
    (dict(total_frames=50), r'onset..offset = 5562..5632 spans 71 frames but total_frames is 50'),
    (dict(frame_dir=None, filename_tmpl=None, video='v.mp4', onset=5, apex=None, offset=40,
          total_frames=40), r'offset 40 is past the last frame of the video \(total_frames 40'),
])
def test_apex_type_and_total_frames(over, match):
    with pytest.raises(AnnotationError, match=match):
        make_record(where='SAMM.xlsx, row 15', **_rec(**over))
    make_record(**_rec(total_frames=71))  # exactly the clip


def test_subject_ids_are_stripped():
    assert make_record(**_rec(subject='006 ')).get('subject') == '006'


def test_dump_is_whole_or_not_at_all_and_names_the_file(tmp_path, file_size_limit):
    """Was: ``[Errno 27] File too large`` naming no file, and a cut-off annotation file."""
    from mer_clip.utils.atomic_write import FileWriteError
    path = tmp_path / 'ann.json'
    dump_annotations([make_record(**_rec())], str(path))
    before = path.read_bytes()
    recs = [make_record(**_rec(sample_id=f's{i}')) for i in range(20)]
    with file_size_limit(len(before) + 10):
        with pytest.raises(FileWriteError) as e:
            dump_annotations(recs, str(path))
    assert str(e.value).startswith(f'{path}: cannot write it ([Errno 27] File too large)')
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == \
        ['ann.json']
