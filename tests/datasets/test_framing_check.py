"""The framing check at load time: the config's framing against metainfo.prepared.framing."""
import pytest
from mmaction.registry import DATASETS

from mer_clip.datasets.annotation import dump_annotations, make_record
from mer_clip.datasets.framing_check import UNRECORDED, FramingMismatchError
from tests.conftest import captured_log


def _ann(tmp_path, prepared=None, name='ann.json'):
    recs = [make_record(sample_id=f'{s}_{i}', subject=s, emotion=e, aus='4', onset=1, apex=3,
                        offset=9, frame_dir=f'{s}/{s}_{i}', filename_tmpl='img{}.jpg')
            for i, (s, e) in enumerate([('006', 'Anger'), ('007', 'Happiness'),
                                        ('008', 'Surprise')])]
    meta = dict(dataset_name='samm')
    if prepared is not None:
        meta['prepared'] = prepared
    return dump_annotations(recs, str(tmp_path / name), meta)


def _build(path, framing, **kwargs):
    return DATASETS.build(dict(type='MicroExpressionDataset', ann_file=path,
                               class_scheme='samm_5', framing=framing, **kwargs))


def _warnings(build):
    with captured_log() as records:
        build()
    return [r.getMessage() for r in records if r.levelname == 'WARNING']


def test_same_framing_loads_and_a_mismatch_names_file_framings_and_remedies(tmp_path):
    path = _ann(tmp_path, dict(framing='megc2019_casme2',
                               config=dict(eye_distance=0.545, eye_y=0.28)))
    ds = _build(path, 'megc2019_casme2')
    assert len(ds) == 3 and ds.metainfo['framing'] == 'megc2019_casme2'
    with pytest.raises(FramingMismatchError) as err:
        _build(path, 'mer_clip')
    msg = str(err.value)
    assert path in msg and "'megc2019_casme2' (eye_distance 0.545, eye_y 0.28)" in msg
    assert "expects 'mer_clip'" in msg and 'prepare_dataset.py --framing mer_clip' in msg
    assert '--cfg-options framing=megc2019_casme2' in msg
    with pytest.raises(ValueError, match="unknown framing 'mer-clip'.*'mer_clip'"):
        _build(path, 'mer-clip')
    assert _build(path, None).metainfo['framing'] == 'megc2019_casme2'  # no check asked for


def test_unrecorded_framing_is_accepted_with_one_counted_warning(tmp_path):
    path = _ann(tmp_path)  # no metainfo.prepared: not written by prepare_dataset.py
    warned = _warnings(lambda: [_build(path, 'mer_clip', split=s, loso_subject='006')
                                for s in ('train', 'test')])
    framing_warnings = [w for w in warned if 'no framing recorded' in w]
    assert len(framing_warnings) == 1, warned
    assert path in framing_warnings[0] and '3 samples' in framing_warnings[0]
    assert '--framing mer_clip' in framing_warnings[0]
    assert sum(v for k, v in UNRECORDED.items() if k.endswith(str(tmp_path / 'ann.json'))) == 2
    assert _build(path, 'mer_clip').metainfo['framing'] is None


def test_unrecorded_released_crops_name_the_converter(tmp_path):
    path = _ann(tmp_path, name='released.json')  # an HTNet composite converted before the record
    warned = _warnings(lambda: _build(path, 'megc2019_released'))
    framing_warnings = [w for w in warned if 'no framing recorded' in w]
    assert len(framing_warnings) == 1 and 'convert_annotations.py megc2019_htnet' in \
        framing_warnings[0]
