
import pytest
from mmaction.registry import DATASETS

from mer_clip.au.codes import AUCode
from mer_clip.datasets.annotation import dump_annotations, make_record
from tests.conftest import captured_log

SAMM_ROWS = [  # subject, emotion
    ('006', 'Anger'), ('006', 'Happiness'), ('006', 'Fear'), ('007', 'Contempt'),
    ('007', 'Other'), ('007', 'Surprise'), ('008', 'Anger'), ('008', 'Disgust'), ('008', 'Sadness'),
]


def _samm_file(tmp_path, rows=SAMM_ROWS, **extra):
    recs = [make_record(sample_id=f'{s}_{i}', subject=s, emotion=e, aus='R12+4', onset=1,
                        apex=3, offset=9, frame_dir=f'{s}/{s}_{i}', filename_tmpl='img{}.jpg',
                        **extra) for i, (s, e) in enumerate(rows)]
    path = str(tmp_path / 'ann.json')
    dump_annotations(recs, path, dict(dataset_name='samm'))
    return path


def _build(**kwargs):
    return DATASETS.build(dict(type='MicroExpressionDataset', **kwargs))


@pytest.mark.parametrize('serialize_data', [True, False])
def test_au_lists_are_aucodes(tmp_path, serialize_data):
    """The file's AU dicts become AUCodes once, at load (they survive the pickled data list)."""
    ds = _build(ann_file=_samm_file(tmp_path), class_scheme='samm_5',
                serialize_data=serialize_data)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert all(info['au_list'] == [AUCode(4), AUCode(12, 'R')] for info in infos)
    assert ds[0]['au_list'] is not ds[0]['au_list']  # each sample gets its own list


def test_class_schemes_drop_out_of_scheme_samples(tmp_path):
    path = _samm_file(tmp_path)
    five = _build(ann_file=path, class_scheme='samm_5')
    assert five.metainfo['classes'] == ('anger', 'contempt', 'happiness', 'others', 'surprise')
    assert len(five) == 6  # fear, disgust, sadness are outside the 5-class task
    assert five.class_counts() == dict(anger=2, contempt=1, happiness=1, others=1, surprise=1)
    three = _build(ann_file=path, class_scheme='samm_3')
    assert three.class_counts() == dict(negative=6, positive=1, surprise=1)  # 'Other' dropped
    assert three.get_data_info(0)['label'] == 0


def test_loso_selection_and_subjects(tmp_path):
    path = _samm_file(tmp_path)
    train = _build(ann_file=path, class_scheme='samm_5', loso_subject='007', split='train')
    test = _build(ann_file=path, class_scheme='samm_5', loso_subject='007', split='test')
    assert train.subjects == ['006', '007', '008'] == test.subjects
    assert {train.get_data_info(i)['subject'] for i in range(len(train))} == {'006', '008'}
    assert {test.get_data_info(i)['subject'] for i in range(len(test))} == {'007'}
    assert len(train) + len(test) == 6
    info = test.get_data_info(0)
    assert info['frame_dir'] == '007/007_3'  # no prefix given


def test_data_prefix_joins_relative_paths(tmp_path):
    path = _samm_file(tmp_path)
    ds = _build(ann_file=path, class_scheme='samm_5', data_prefix=dict(img='/data/samm'))
    assert ds.get_data_info(0)['frame_dir'] == '/data/samm/006/006_0'


def test_unknown_subject_and_empty_fold_errors(tmp_path):
    path = _samm_file(tmp_path)
    with pytest.raises(ValueError, match=r"'999' has no sample .*\['006', '007', '008'\]"):
        _build(ann_file=path, class_scheme='samm_5', loso_subject='999', split='test')
    # a scheme that keeps only subject 006's happiness: 008 is not a fold of it, and holding out
    # the only subject leaves nothing to train on
    scheme = dict(classes=['happiness'])
    with pytest.raises(ValueError, match=r"'008' has no sample in class scheme 'custom'"):
        _build(ann_file=path, class_scheme=scheme, loso_subject='008', split='test')
    with pytest.raises(ValueError, match='LOSO subject 006, train is empty'):
        _build(ann_file=path, class_scheme=scheme, loso_subject='006', split='train')


def test_fixed_splits_dfme_style(tmp_path):
    rows = [('sub01', 'anger'), ('sub02', 'fear'), ('sub03', 'happiness')]
    recs = []
    for (s, e), split in zip(rows, ['train', 'test_a', 'test_b']):
        recs.append(make_record(sample_id=s, subject=s, emotion=e, aus='4', onset=0, apex=1,
                                offset=2, frame_dir=s, filename_tmpl='{}.jpg', split=split))
    path = str(tmp_path / 'dfme.json')
    dump_annotations(recs, path)
    assert len(_build(ann_file=path, class_scheme='dfme_7', split='test_b')) == 1
    assert _build(ann_file=path, class_scheme='dfme_7', split='train').get_data_info(0)[
        'label'] == 0
    with pytest.raises(ValueError, match="split 'val' selects no sample"):
        _build(ann_file=path, class_scheme='dfme_7', split='val')


def test_unknown_scheme_and_no_sample_in_scheme(tmp_path):
    path = _samm_file(tmp_path)
    with pytest.raises(KeyError, match='Unknown class_scheme'):
        _build(ann_file=path, class_scheme='samm_9')
    with pytest.raises(ValueError, match='no sample falls in class scheme'):
        _build(ann_file=path, class_scheme=dict(classes=['repression']))


def test_misspelled_emotion_is_a_warning_with_a_count_or_an_error_when_strict(tmp_path):
    rows = SAMM_ROWS + [('008', 'Hapiness'), ('008', 'hapiness '), ('006', 'Joy')]
    path = _samm_file(tmp_path, rows)
    with captured_log() as records:
        ds = _build(ann_file=path, class_scheme='samm_5')
    assert len(ds) == 6
    warnings = [r.getMessage() for r in records if r.levelname == 'WARNING']
    assert len(warnings) == 1, warnings
    msg = warnings[0]
    assert '3 sample(s)' in msg and "'Hapiness' x1 (did you mean 'happiness'?)" in msg
    assert "'Joy' x1" in msg and 'Fear' not in msg  # SAMM Fear is a documented drop: INFO only
    infos = [r.getMessage() for r in records
             if r.levelname == 'INFO' and 'outside' in r.getMessage()]
    assert infos and "'Fear': 1" in infos[0] and 'Hapiness' not in infos[0]
    with pytest.raises(ValueError, match=r"'Hapiness' x1 .*--strict"):
        _build(ann_file=path, class_scheme='samm_5', strict_labels=True)
    _build(ann_file=_samm_file(tmp_path), class_scheme='samm_5', strict_labels=True)  # no typo


def test_subject_ids_are_stripped_into_one_fold(tmp_path):
    path = _samm_file(tmp_path, SAMM_ROWS + [('006 ', 'Anger')])
    ds = _build(ann_file=path, class_scheme='samm_5', loso_subject=' 006', split='test')
    assert ds.subjects == ['006', '007', '008'] and len(ds) == 3
