"""mer_clip.loso.summary.LOSOSummary: summary.json round trip, older files, files that are no
summary, and the headline groups of both protocols."""
import json
import re

import pytest

from mer_clip.loso import LOSOSummary, SummaryError, build_summary, write_reports
from mer_clip.loso.seed_table import load_run

CLASSES = ['negative', 'positive', 'surprise']


def _rows(fold, pairs, dataset=None):
    return [dict(fold=fold, subject=fold, sample_id=f'{fold}_{i}', gt=g, pred=p,
                 scores=[0.8 if k == p else 0.1 for k in range(3)],
                 **({'dataset': dataset} if dataset else {}))
            for i, (g, p) in enumerate(pairs)]


def loso_summary():
    """A LOSO summary of a joint annotation (two source datasets) with every provenance field."""
    rows = (_rows('A', [(0, 0), (1, 1), (2, 0)], 'casme2')
            + _rows('B', [(0, 0), (1, 0)], 'samm'))
    info = {f: dict(seed=3, checkpoint=f'fold_{f}/epoch_2.pth', train_seconds=1.5) for f in 'AB'}
    return build_summary(
        'loso', {'pooled': rows}, CLASSES, info, fold_key='subject', protocol_title='LOSO',
        experiment='x', config='configs/x.py', config_hash='ab' * 32, cfg_options=['a=1'],
        fold_cfg_options={'A': ['b=2']}, checkpoint_rule='last epoch',
        seeds=dict(base=3, rule='same seed for every fold', per_fold={'A': 3, 'B': 3})), rows


def fixed_summary():
    rows_a, rows_b = _rows('test_a', [(0, 0), (1, 1), (2, 0)]), _rows('test_b', [(0, 1), (1, 1)])
    return build_summary('fixed', {'test_a': rows_a, 'test_b': rows_b}, CLASSES,
                         fold_key=None, protocol_title=None, config='configs/d.py'), rows_a + rows_b


@pytest.mark.parametrize('make', [loso_summary, fixed_summary])
def test_round_trip_through_the_file(tmp_path, make):
    s, rows = make()
    paths = write_reports(str(tmp_path), s, rows, plots=False)
    assert s.report_files == paths and not (tmp_path / 'summary.json.part').exists()
    text = (tmp_path / 'summary.json').read_text()
    assert text == json.dumps(s.to_json(), indent=2)
    loaded = LOSOSummary.load(str(tmp_path))
    assert loaded == s and LOSOSummary.from_json(s.to_json()) == s
    assert json.dumps(loaded.to_json(), indent=2) == text  # re-written byte for byte


def test_key_order_and_absent_keys():
    s, _ = loso_summary()
    assert list(s.to_json()) == [
        'protocol', 'classes', 'created', 'pooled', 'per_dataset', 'per_fold', 'subject_mean',
        'num_folds', 'fold_key', 'protocol_title', 'experiment', 'config', 'config_hash',
        'cfg_options', 'fold_cfg_options', 'checkpoint_rule', 'seeds', 'versions']
    f, _ = fixed_summary()
    assert list(f.to_json()) == ['protocol', 'classes', 'created', 'splits', 'per_fold',
                                 'config', 'versions']


def test_older_file_without_optional_keys(tmp_path):
    s, _ = loso_summary()
    old = s.to_json()
    for key in ('per_dataset', 'fold_key', 'protocol_title', 'fold_cfg_options', 'versions'):
        del old[key]  # a run of an older version: single dataset, before fold protocols
    (tmp_path / 'summary.json').write_text(json.dumps(old))
    loaded = LOSOSummary.load(str(tmp_path / 'summary.json'))
    assert loaded.per_dataset is None and loaded.fold_key is None and loaded.versions is None
    assert list(loaded.headline()) == ['pooled'] and loaded.to_json() == old


@pytest.mark.parametrize('content, why', [
    ('[loso] fold s01: start\n', 'Expecting value'),  # a log caught by a shell glob
    ('{"protocol": "loso", "classes": ["a"]', 'Expecting'),  # cut short
    ('[1, 2]', 'not a JSON object'),
    ('{"a": 1}', 'no protocol, classes, created, per_fold, splits'),
    ('{"protocol": "loso", "classes": [], "created": "", "per_fold": []}',
     'no pooled, subject_mean, num_folds'),
])
def test_no_summary_is_an_error_naming_the_file(tmp_path, content, why):
    file = tmp_path / 'run' / 'summary.json'
    file.parent.mkdir()
    file.write_text(content)
    for path in (str(file), str(file.parent)):
        with pytest.raises(SummaryError, match='is not a summary.json of tools/loso.py') as e:
            LOSOSummary.load(path)
        assert str(file) in str(e.value) and why in str(e.value)
    with pytest.raises(SummaryError, match=re.escape(f'{file} is not a summary.json')):
        load_run(str(file.parent))  # the seed table reads through it


def test_unknown_key_and_missing_file(tmp_path):
    s, _ = loso_summary()
    (tmp_path / 'summary.json').write_text(json.dumps(dict(s.to_json(), counts={})))
    with pytest.raises(SummaryError, match='unknown keys counts'):
        LOSOSummary.load(str(tmp_path))
    with pytest.raises(SummaryError, match='nope.*not found: run tools/loso.py'):
        LOSOSummary.load(str(tmp_path / 'nope'))


def test_headline_groups_of_both_protocols():
    s, _ = loso_summary()
    assert list(s.groups()) == ['pooled', 'dataset casme2', 'dataset samm']
    assert s.groups()['dataset samm'] is s.per_dataset['samm']
    h = s.headline()
    assert h['pooled'] == {k: s.pooled[k] for k in ('UF1', 'UAR', 'ACC')}
    assert h['dataset samm']['ACC'] == pytest.approx(1 / 2)
    f, _ = fixed_summary()
    assert list(f.groups()) == ['test_a', 'test_b']
    assert f.headline()['test_a']['ACC'] == pytest.approx(2 / 3)
    assert f.headline()['test_b'] == {k: f.splits['test_b'][k] for k in ('UF1', 'UAR', 'ACC')}
