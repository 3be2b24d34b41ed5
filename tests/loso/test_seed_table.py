"""mer_clip.loso.seed_table and tools/analysis/seed_table.py: mean +- sample std over seeds, the
paired comparison over seeds, and refusal of runs that cannot be averaged or compared."""
import json
import math
import os.path as osp

import numpy as np
import pytest

from mer_clip.loso import SummaryError, build_summary, write_reports
from mer_clip.loso.seed_table import (SeedTableError, group_runs, load_run, mean_std,
                                      paired_comparison, seed_statistics, seed_table_markdown,
                                      sign_flip_p, student_t_sf2, train_seconds_per_fold)
from tests.conftest import load_tool

CLASSES = ['negative', 'positive', 'surprise']
# 12 test clips in 3 folds (subjects), 4 per class-balanced fold
GT = [0, 1, 2, 0] * 3


def _summary(config, seed, n_right, dataset=None, folds=('s1', 's2', 's3'), secs=10.0,
             fold_mode='inprocess'):
    """A LOSO summary whose first ``n_right`` clips are predicted right, the others wrong."""
    rows = []
    for i, g in enumerate(GT[:4 * len(folds)]):
        fold = folds[i // 4]
        rows.append(dict(fold=fold, subject=fold, sample_id=f'{fold}_{i}', gt=g,
                         pred=g if i < n_right else (g + 1) % 3, scores=[0.3, 0.3, 0.4],
                         **({'dataset': dataset(i)} if dataset else {})))
    return build_summary('loso', {'pooled': rows}, CLASSES,
                         {f: dict(seed=seed, train_seconds=secs, fold_mode=fold_mode)
                          for f in folds},
                         experiment=osp.splitext(config)[0], config=config,
                         config_hash=config.encode().hex().ljust(64, '0')[:64],
                         checkpoint_rule='last epoch', seeds=dict(base=seed)), rows


def _runs(config, right_by_seed, **kw):
    return [(f'/runs/{config}/seed{s}', _summary(config, s, n, **kw)[0])
            for s, n in right_by_seed.items()]


def test_student_t_two_sided_p():
    # textbook critical values: P(|T| >= t) = 0.05
    for df, t in ((1, 12.706), (2, 4.303), (4, 2.776), (5, 2.571), (10, 2.228), (30, 2.042)):
        assert student_t_sf2(t, df) == pytest.approx(0.05, abs=2e-4), df
    assert student_t_sf2(1.0, 1) == pytest.approx(0.5)  # Cauchy
    assert student_t_sf2(2.0, 2) == pytest.approx(1 - 2 / math.sqrt(6))
    assert student_t_sf2(0.0, 3) == pytest.approx(1.0)
    assert student_t_sf2(-2.776, 4) == pytest.approx(student_t_sf2(2.776, 4))
    assert student_t_sf2(math.inf, 4) == 0.0
    stats = pytest.importorskip('scipy.stats')
    for df in range(1, 13):
        for t in (0.1, 0.7, 1.5, 3.0, 8.0):
            assert student_t_sf2(t, df) == pytest.approx(2 * stats.t.sf(t, df), abs=1e-10)


def test_sign_flip_p_is_exact():
    assert sign_flip_p([0.1, 0.2, 0.05, 0.3, 0.1]) == pytest.approx(2 / 32)
    assert sign_flip_p([1.0, -1.0]) == pytest.approx(1.0)
    # [3, 1, -1]: |mean| 1; patterns reaching it: (+,+,-),(+,+,+),(+,-,-),(-,-,+),(-,-,-),
    # (-,+,+) -> 6 of 8
    assert sign_flip_p([3.0, 1.0, -1.0]) == pytest.approx(6 / 8)
    # many pairs: the estimate stays near the exact value of all-positive differences
    assert sign_flip_p([1.0] * 20) < 1e-3


def test_group_statistics_and_paired_comparison(tmp_path):
    runs = _runs('lin.py', {0: 6, 1: 8, 2: 7}) + _runs('mer.py', {2: 10, 0: 9, 1: 9, 3: 11})
    lin, mer = group_runs(runs)
    assert (lin.name, lin.seeds, mer.name, mer.seeds) == ('lin', [0, 1, 2], 'mer', [0, 1, 2, 3])
    st = seed_statistics(mer)
    acc = [9 / 12, 9 / 12, 10 / 12, 11 / 12]
    assert st['pooled']['num_samples'] == 12
    assert st['pooled']['ACC']['mean'] == pytest.approx(np.mean(acc))
    assert st['pooled']['ACC']['std'] == pytest.approx(np.std(acc, ddof=1))  # sample std
    assert st['pooled']['ACC']['values'] == pytest.approx({0: 0.75, 1: 0.75, 2: 10 / 12,
                                                           3: 11 / 12})
    assert train_seconds_per_fold(mer) == pytest.approx(10.0)
    cmp = paired_comparison(lin, mer)['pooled']['ACC']
    d = np.array([3, 1, 3]) / 12  # seed 3 has no pair
    assert cmp['seeds'] == [0, 1, 2] and cmp['diffs'] == pytest.approx(d)
    assert cmp['mean'] == pytest.approx(d.mean()) and cmp['std'] == pytest.approx(d.std(ddof=1))
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    assert cmp['t'] == pytest.approx(t) and cmp['p_t'] == pytest.approx(student_t_sf2(t, 2))
    assert cmp['p_sign_flip'] == pytest.approx(2 / 8) and cmp['b_better'] == 3
    assert cmp['beyond_noise'] == (cmp['p_t'] < 0.05)
    assert mean_std([0.5]) == (0.5, None)


def test_per_dataset_reports_are_kept():
    def ds(i):
        return 'casme2' if i % 2 else 'samm'

    g, = group_runs(_runs('joint.py', {0: 8, 1: 10}, dataset=ds))
    st = seed_statistics(g)
    assert list(st) == ['pooled', 'dataset samm', 'dataset casme2']
    assert st['dataset samm']['num_samples'] == 6 and st['dataset casme2']['num_samples'] == 6


def test_mixed_runs_are_refused():
    with pytest.raises(SeedTableError, match='seed 1 appears twice'):
        group_runs(_runs('a.py', {1: 5}) + _runs('a.py', {1: 6}))
    with pytest.raises(SeedTableError, match='not runs of the same experiment.*folds'):
        group_runs(_runs('a.py', {0: 5}) + _runs('a.py', {1: 5}, folds=('s1', 's2')))
    a, b = group_runs(_runs('a.py', {0: 5, 1: 6}) + _runs('b.py', {1: 5, 2: 6}))
    with pytest.raises(SeedTableError, match='share 1 seed'):
        paired_comparison(a, b)
    a, b = group_runs(_runs('a.py', {0: 5, 1: 6}) + _runs('b.py', {0: 5, 1: 6},
                                                              folds=('s1', 's2')))
    with pytest.raises(SeedTableError, match='not tested on the same folds'):
        paired_comparison(a, b)
    with pytest.raises(SummaryError, match='not found'):
        load_run('/nonexistent/run')


def test_files_that_are_no_summary_are_refused(tmp_path):
    log = tmp_path / 'seed0.log'  # e.g. a shell glob that caught a log beside the work dirs
    log.write_text('[loso] fold s01: start\n')
    with pytest.raises(SummaryError, match='seed0.log is not a summary.json'):
        load_run(str(log))
    other = tmp_path / 'other.json'
    other.write_text('{"a": 1}')
    with pytest.raises(SummaryError, match='other.json is not a summary.json'):
        load_run(str(other))


def test_seed_table_tool(tmp_path, capsys):
    dirs = []
    for config, right in (('lin.py', {0: 6, 1: 7, 2: 6}), ('mer.py', {0: 10, 1: 11, 2: 12})):
        for seed, n in right.items():
            s, rows = _summary(config, seed, n)
            work = str(tmp_path / f'{config[:3]}_s{seed}')
            write_reports(work, s, rows, plots=False)
            dirs.append(work)
    out_json = str(tmp_path / 't.json')
    # in-process: the tool is main(argv) over the library
    tool = load_tool('tools/analysis/seed_table.py')
    assert tool.main([*dirs, '--names', 'baseline', 'MER-CLIP', '--json', out_json]) == 0
    out = capsys.readouterr().out
    # ACC: baseline 0.500 / 0.583 / 0.500, MER-CLIP 0.833 / 0.917 / 1.000
    assert '| baseline | pooled | 0, 1, 2 | 12 |' in out
    assert '0.528 +- 0.048 |' in out and '0.917 +- 0.083 |' in out
    assert '| MER-CLIP | pooled | 2 |' in out  # per-seed table
    acc = [ln for ln in out.splitlines() if ln.startswith('| pooled | ACC |')][0]
    assert '+0.389 +- 0.096' in acc and 'higher beyond the seed spread' in acc
    with open(out_json) as f:
        data = json.load(f)
    assert [g['name'] for g in data['groups']] == ['baseline', 'MER-CLIP']
    assert data['comparisons'][0]['result']['pooled']['ACC']['b_better'] == 3
    # a missing run: one error line naming it
    assert tool.main(dirs[:3] + [str(tmp_path / 'missing')]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith('error: ')]
    assert len(err) == 1 and 'missing' in err[0]


def test_tie_verdict():
    groups = group_runs(_runs('lin.py', {0: 6, 1: 8, 2: 7}) + _runs('mer.py', {0: 8, 1: 6, 2: 7}))
    md = seed_table_markdown(groups)
    acc = [ln for ln in md.splitlines() if ln.startswith('| pooled | ACC |')][0]
    assert 'tie (inside the seed spread)' in acc and '+0.000' in acc


def test_batched_runs_of_a_config_are_their_own_group_paired_with_the_per_fold_runs():
    runs = (_runs('a.py', {0: 7, 1: 8, 2: 9}) + _runs('a.py', {0: 8, 1: 9, 2: 10},
                                                       fold_mode='batched')
            + _runs('a.py', {3: 9}, fold_mode='subprocess'))
    per_fold, batched = group_runs(runs)
    assert (per_fold.name, batched.name) == ('a [per-fold]', 'a [batched]')
    assert per_fold.seeds == [0, 1, 2, 3] and batched.seeds == [0, 1, 2]
    cmp = paired_comparison(per_fold, batched)['pooled']['UF1']
    assert cmp['seeds'] == [0, 1, 2] and cmp['b_better'] == 3
