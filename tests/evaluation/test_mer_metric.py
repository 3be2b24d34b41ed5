import numpy as np
import pytest
import torch
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from sklearn.metrics import balanced_accuracy_score, f1_score

from mer_clip.evaluation import mer_metrics, read_predictions_csv


def test_hand_computed_values():
    gt = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    m = mer_metrics(gt, pred, 3)
    # class 0: TP2 FP0 FN1 -> F1 4/5, R 2/3; class 1: TP1 FP1 FN1 -> 1/2, 1/2; class 2: TP1 FP1 FN0 -> 2/3, 1
    assert m['per_class_f1'] == pytest.approx([0.8, 0.5, 2 / 3])
    assert m['per_class_recall'] == pytest.approx([2 / 3, 0.5, 1.0])
    assert m['uf1'] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m['uar'] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert m['acc'] == pytest.approx(4 / 6)
    assert m['confusion_matrix'] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


@pytest.mark.parametrize('seed', range(5))
def test_matches_sklearn_including_absent_classes(seed):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 4, 40)  # class 4 never in gt
    pred = rng.integers(0, 5, 40)
    pred[gt == 3] = 0  # class 3 never predicted correctly
    m = mer_metrics(gt, pred, 6)  # class 5 in neither: excluded
    assert m['uf1'] == pytest.approx(f1_score(gt, pred, average='macro'))
    with pytest.warns(UserWarning):  # sklearn warns about y_pred classes absent from y_true
        bal = balanced_accuracy_score(gt, pred)
    assert m['uar'] == pytest.approx(bal)
    assert np.isnan(m['per_class_f1'][5]) and np.isnan(m['per_class_recall'][4])
    assert m['per_class_f1'][4] == 0.0


def test_pooled_differs_from_mean_of_folds():
    # fold A: 1 sample of class 0 correct; fold B: 9 samples, class 1, 3 correct (others -> 0)
    gt_a, pred_a = [0], [0]
    gt_b, pred_b = [1] * 9, [1, 1, 1] + [0] * 6
    pooled = mer_metrics(gt_a + gt_b, pred_a + pred_b, 2)
    fold_mean = np.mean([mer_metrics(gt_a, pred_a, 2)['uf1'], mer_metrics(gt_b, pred_b, 2)['uf1']])
    # pooled: class0 F1 = 2/(2+6) = .25, class1 F1 = 6/(6+6) = .5 -> .375; folds: (1 + .25)/2
    assert pooled['uf1'] == pytest.approx(0.375)
    assert fold_mean == pytest.approx(0.625)


def test_empty_and_out_of_range_raise():
    with pytest.raises(ValueError, match='no predictions'):
        mer_metrics([], [], 3)
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        mer_metrics([0, 3], [0, 1], 3)


def _sample(score, gt, sid, subject):
    ds = ActionDataSample().set_gt_label(torch.tensor([gt]))
    ds.set_field(torch.tensor(score, dtype=torch.float32), 'pred_score')
    ds.set_metainfo(dict(sample_id=sid, subject=subject))
    return ds.to_dict()


def test_metric_pools_dumps_and_reports_subject_mean(tmp_path):
    out = tmp_path / 'preds.csv'
    metric = METRICS.build(dict(type='MERMetric', out_file=str(out)))
    metric.dataset_meta = dict(classes=('negative', 'positive', 'surprise'))
    samples = [_sample([0.8, 0.1, 0.1], 0, 'a1', 's1'), _sample([0.2, 0.7, 0.1], 0, 'a2', 's1'),
               _sample([0.1, 0.2, 0.7], 2, 'b1', 's2'), _sample([0.1, 0.6, 0.3], 1, 'b2', 's2')]
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    ref = mer_metrics([0, 0, 2, 1], [0, 1, 2, 1], 3)
    assert res['mer/UF1'] == pytest.approx(ref['uf1'])
    assert res['mer/UAR'] == pytest.approx(ref['uar'])
    assert res['mer/ACC'] == pytest.approx(0.75)
    assert res['mer/F1_surprise'] == pytest.approx(1.0)
    assert 'mer/subject_mean/UF1' in res
    rows = read_predictions_csv(str(out))
    assert [r['sample_id'] for r in rows] == ['a1', 'a2', 'b1', 'b2']
    assert rows[1]['pred'] == 1 and rows[1]['gt'] == 0 and rows[1]['subject'] == 's1'
    assert rows[3]['scores'] == pytest.approx([0.1, 0.6, 0.3])


def test_predictions_file_is_whole_or_not_at_all_and_names_it(tmp_path, file_size_limit):
    """A fold's predictions.csv (tests/test.py --dump, the LOSO test step); was a bare
    ``[Errno 27] File too large`` and a cut-off file."""
    from mer_clip.evaluation import write_predictions_csv
    from mer_clip.utils.atomic_write import FileWriteError
    path = str(tmp_path / 'predictions.csv')
    rows = [dict(sample_id=f's{i}', subject='a', gt=0, pred=1, scores=[0.25, 0.75])
            for i in range(50)]
    with file_size_limit(500):
        with pytest.raises(FileWriteError) as e:
            write_predictions_csv(path, rows, ['x', 'y'])
    assert str(e.value).startswith(f'{path}: cannot write it ([Errno 27] File too large)')
    assert list(tmp_path.iterdir()) == []
    write_predictions_csv(path, rows, ['x', 'y'])
    assert len(read_predictions_csv(path)) == 50


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_a_non_finite_score_is_an_error_naming_the_sample(tmp_path, bad):
    """Not a silent argmax to class 0: a diverged model's NaN scores would pool as numbers."""
    from mmengine.logging import MessageHub
    out = tmp_path / 'preds.csv'
    metric = METRICS.build(dict(type='MERMetric', out_file=str(out)))
    good = [_sample([0.8, 0.1, 0.1], 0, 'a1', 's1')]
    metric.process({}, good)
    with pytest.raises(ValueError, match=r"^sample b1 \(subject 's2'\): the class scores "
                       rf"are not finite \({bad:g}, 0.1, 0.1\): the model diverged.*"
                       r'optim_wrapper.optimizer.lr') as err:
        metric.process({}, [_sample([bad, 0.1, 0.1], 2, 'b1', 's2')])
    assert type(err.value).__name__ == 'NonFiniteScoreError'  # a ValueError: a user error
    assert len(metric.results) == 1 and not out.exists()
    # in a training run's validation the epoch is named (mmengine's runtime info)
    hub = MessageHub.get_instance('test_mer_metric_nan')
    hub.update_info('loop_stage', 'val')
    hub.update_info('epoch', 1)
    try:
        with pytest.raises(ValueError, match=r"^sample c1 \(subject 's3'\) in the "
                           'validation after epoch 2: '):
            metric.process({}, [_sample([0.1, bad, 0.1], 1, 'c1', 's3')])
    finally:
        hub.pop_info('loop_stage')
