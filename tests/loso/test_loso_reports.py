"""Pooled vs per-fold metrics, summary/markdown content, figures, compare_runs."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.loso import build_summary, summary_markdown, write_reports
from mer_clip.loso.folds import natural_key, select_subjects

CLASSES = ['negative', 'positive', 'surprise']


def _rows(fold, pairs):
    return [dict(fold=fold, subject=fold, sample_id=f'{fold}_{i}', gt=g, pred=p,
                 scores=[0.8 if k == p else 0.1 for k in range(3)])
            for i, (g, p) in enumerate(pairs)]


def constructed_rows():
    """Fold A: 4 negatives, all right. Fold B: one of each class, only the negative right.

    Pooled: confusion [[5,0,0],[1,0,0],[1,0,0]] -> F1 = [10/12, 0, 0], UF1 = 0.2778, UAR = 1/3,
    ACC = 5/7. Per fold: A has only class 0 -> UF1 1, UAR 1; B: F1 = [2/4, 0, 0] -> UF1 1/6,
    UAR 1/3, ACC 1/3. Subject mean UF1 = (1 + 1/6) / 2 = 0.5833 != pooled 0.2778.
    """
    return _rows('A', [(0, 0)] * 4) + _rows('B', [(0, 0), (1, 0), (2, 0)])


def test_pooled_differs_from_subject_mean():
    rows = constructed_rows()
    s = build_summary('loso', {'pooled': rows}, CLASSES)
    p = s.pooled
    assert p['confusion_matrix'] == [[5, 0, 0], [1, 0, 0], [1, 0, 0]]
    assert p['UF1'] == pytest.approx((10 / 12) / 3)
    assert p['UAR'] == pytest.approx(1 / 3)
    assert p['ACC'] == pytest.approx(5 / 7)
    folds = {f['fold']: f for f in s.per_fold}
    assert folds['A']['UF1'] == pytest.approx(1.0) and folds['A']['classes_present'] == [
        'negative']
    assert folds['B']['UF1'] == pytest.approx(1 / 6)
    assert s.subject_mean['UF1'] == pytest.approx((1 + 1 / 6) / 2)
    assert abs(s.subject_mean['UF1'] - p['UF1']) > 0.3
    assert 'reference only' in s.subject_mean['note']
    assert p['per_class']['positive'] == dict(f1=0.0, recall=0.0, support=1)


def test_fixed_split_summary_reports_each_split():
    rows_a = _rows('test_a', [(0, 0), (1, 1), (2, 0)])
    rows_b = _rows('test_b', [(0, 1), (1, 1)])
    s = build_summary('fixed', {'test_a': rows_a, 'test_b': rows_b}, CLASSES)
    assert set(s.splits) == {'test_a', 'test_b'}
    assert s.splits['test_a']['ACC'] == pytest.approx(2 / 3)
    assert s.splits['test_b']['ACC'] == pytest.approx(1 / 2)
    assert s.pooled is None and 'pooled' not in s.to_json()
    md = summary_markdown(s)
    assert '**test_a**' in md and '**test_b**' in md


def test_write_reports_and_compare_runs(tmp_path, repo_root):
    rows = constructed_rows()
    a = build_summary('loso', {'pooled': rows}, CLASSES, config='x.py', config_hash='ab' * 32,
                      seeds=dict(base=0))
    paths = write_reports(str(tmp_path / 'run_a'), a, rows)
    for key in ('predictions', 'summary_json', 'summary_md', 'confusion_matrix', 'per_fold'):
        assert osp.getsize(paths[key]) > 0, key
    for key in ('confusion_matrix', 'per_fold'):  # real PNG files
        with open(paths[key], 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image as mpimg
    img = mpimg.imread(paths['confusion_matrix'])
    assert img.shape[0] > 200 and img.shape[1] > 200 and img[..., :3].std() > 0.05
    with open(paths['predictions']) as f:
        header = f.readline().strip().split(',')
        first = f.readline().strip().split(',')
    assert header[:5] == ['fold', 'subject', 'sample_id', 'gt', 'pred']
    assert header[-3:] == ['score_negative', 'score_positive', 'score_surprise']
    assert first[:5] == ['A', 'A', 'A_0', '0', '0']
    with open(paths['summary_json']) as f:
        assert json.load(f)['pooled']['ACC'] == pytest.approx(5 / 7)
    md = open(paths['summary_md']).read()
    assert '| **pooled** | 0.2778 | 0.3333 | 0.7143 | 7 |' in md

    # run B: fold B now gets the positive right -> compare shows the delta
    rows_b = _rows('A', [(0, 0)] * 4) + _rows('B', [(0, 0), (1, 1), (2, 0)])
    b = build_summary('loso', {'pooled': rows_b}, CLASSES, config='y.py', config_hash='cd' * 32,
                      seeds=dict(base=0))
    write_reports(str(tmp_path / 'run_b'), b, rows_b, plots=False)
    out = subprocess.run([sys.executable, osp.join(repo_root, 'tools', 'compare_runs.py'),
                          str(tmp_path / 'run_a'), str(tmp_path / 'run_b')],
                         capture_output=True, text=True, check=True).stdout
    acc_line = [ln for ln in out.splitlines() if ln.startswith('| ACC |')][0]
    assert '0.7143' in acc_line and '0.8571' in acc_line and '+0.1429' in acc_line
    assert '| B | 0.1667 |' in out  # per-fold UF1 table


def test_subject_selection_and_order():
    assert sorted(['s10', 's2', 's1'], key=natural_key) == ['s1', 's2', 's10']
    assert select_subjects(['s1', 's2', 's3'], ['s3', 's1']) == ['s1', 's3']
    with pytest.raises(ValueError, match='unknown subjects'):
        select_subjects(['s1', 's2'], ['s9'])


@pytest.mark.parametrize('limit,plots,failing', [
    (300, False, 'predictions.csv'), (1000, False, 'summary.md'), (1500, False, 'summary.json'),
    (5000, True, 'confusion_matrix.png')])
def test_a_failed_report_write_names_the_file(tmp_path, file_size_limit, limit, plots, failing):
    """Was: ``[Errno 27] File too large`` naming no file, and a cut-off predictions.csv /
    summary.md left beside the previous summary.json."""
    from mer_clip.utils.atomic_write import FileWriteError
    work = str(tmp_path / 'run')
    earlier = _rows('A', [(0, 1)] * 4) + _rows('B', [(0, 0), (1, 0), (2, 2)])
    write_reports(work, build_summary('loso', {'pooled': earlier}, CLASSES), earlier, plots=plots)
    before = {n: open(osp.join(work, n), 'rb').read() for n in sorted(os.listdir(work))}
    rows = constructed_rows()
    summary = build_summary('loso', {'pooled': rows}, CLASSES, config='x.py')
    with file_size_limit(limit):
        with pytest.raises(FileWriteError) as e:
            write_reports(work, summary, rows, plots=plots)
    assert str(e.value).startswith(f'{osp.join(work, failing)}: cannot write it ([Errno 27]')
    assert sorted(os.listdir(work)) == sorted(before)  # no .part left
    assert open(osp.join(work, 'summary.json'), 'rb').read() == before['summary.json']
    if not failing.endswith('.png'):  # the file that failed is the earlier one, whole
        assert open(osp.join(work, failing), 'rb').read() == before[failing]


@pytest.mark.parametrize('bad', ['nan', 'inf', '-inf'])
def test_fold_predictions_with_non_finite_scores_are_refused(tmp_path, bad):
    """What a diverged fold wrote before training stopped on a NaN loss: scores ``nan``, every
    prediction class 0. Such rows are no predictions; the message names file and sample."""
    from mer_clip.loso.reports import load_fold_predictions
    fold = tmp_path / 'fold_a'
    fold.mkdir()
    path = fold / 'predictions.csv'
    path.write_text('sample_id,subject,gt,pred,score_negative,score_positive,score_surprise\n'
                    'a_0,a,0,0,0.800000,0.100000,0.100000\n'
                    f'a_1,a,1,0,{bad},{bad},{bad}\n'
                    f'a_2,a,2,0,0.100000,{bad},0.100000\n')
    with pytest.raises(ValueError) as err:
        load_fold_predictions(str(path), 'a', 3)
    msg = str(err.value)
    assert msg.startswith(f'{path}: sample a_1 has scores that are not finite ({bad}, {bad}, '
                          f'{bad}; 2 of 3 samples): the model of fold a diverged')
    assert f'Delete the fold folder {fold} and run tools/loso.py again' in msg
    assert 'optim_wrapper.optimizer.lr' in msg
    path.write_text('sample_id,subject,gt,pred,score_negative,score_positive,score_surprise\n'
                    'a_0,a,0,0,0.800000,0.100000,0.100000\n')
    assert [r['sample_id'] for r in load_fold_predictions(str(path), 'a', 3)] == ['a_0']
