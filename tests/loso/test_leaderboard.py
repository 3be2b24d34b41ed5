"""The leaderboard (mer_clip/loso/leaderboard.py, tools/analysis/leaderboard.py): honest, leaky and
published per method and dataset, seeds marked, paired verdicts, and the errors on mixed input.
Work dirs are fabricated through the real summary code (build_summary, LOSOSummary.to_json) and
the run file tools/loso.py writes (loso_run.json)."""
import json
import os.path as osp

import numpy as np
import pytest

from mer_clip.loso.leaderboard import (LeaderboardError, build_methods, check_comparable,
                                       leaderboard_markdown, leaderboard_rows,
                                       load_leaderboard_run, load_published, split_protocols)
from mer_clip.loso.plan import CHECKPOINT_RULE_LAST, CHECKPOINT_RULE_UNSAFE, RUN_FILE
from mer_clip.loso.reports import config_hash
from mer_clip.loso.summary import build_summary
from tests.conftest import load_tool

CLASSES = ['negative', 'positive', 'surprise']
SUBJECTS = [('smic', 's01'), ('smic', 's02'), ('casme2', 'sub01'), ('casme2', 'sub02'),
            ('samm', '006'), ('samm', '007')]


def make_run(root, config, seed, accuracy, leaky=False, classes=CLASSES, data_hash='d1',
             subjects=SUBJECTS, protocol='loso'):
    """A finished LOSO work dir: 6 folds x 9 samples, predictions right with p = accuracy."""
    rng = np.random.default_rng(seed * 1000 + int(accuracy * 100) + 7 * leaky)
    rows = []
    for ds, sub in subjects:
        for i in range(9):
            gt = i % 3
            pred = gt if rng.random() < accuracy else int(rng.integers(0, 3))
            rows.append(dict(sample_id=f'{ds}_{sub}_{i}', subject=f'{ds}_{sub}',
                             fold=ds if protocol == 'lodo' else f'{ds}_{sub}', dataset=ds,
                             gt=gt, pred=pred))
    rule = CHECKPOINT_RULE_UNSAFE if leaky else CHECKPOINT_RULE_LAST
    s = build_summary('loso', {'pooled': rows}, classes, experiment=config,
                      config=f'configs/megc2019/{config}.py',
                      config_hash=config_hash(config + ('unsafe' if leaky else '')),
                      checkpoint_rule=rule, seeds=dict(base=seed))
    if protocol == 'lodo':  # as tools/loso.py --protocol lodo writes it: pooled, by dataset
        s.fold_key, s.protocol_title = 'dataset', 'leave-one-dataset-out'
    kind = ('leaky' if leaky else 'honest') + ('_lodo' if protocol == 'lodo' else '')
    work = root / f'{config}_{kind}_s{seed}'
    work.mkdir()
    (work / 'summary.json').write_text(json.dumps(s.to_json()))
    (work / RUN_FILE).write_text(json.dumps(dict(
        config=s.config, config_hash=s.config_hash, seed=seed, protocol='loso',
        checkpoint_rule=rule, data=dict(hash=data_hash, classes=classes))))
    return str(work)


@pytest.fixture
def board(tmp_path):
    dirs = [make_run(tmp_path, 'ststnet', s, 0.6) for s in range(3)]
    dirs += [make_run(tmp_path, 'ststnet', s, 0.8, leaky=True) for s in range(2)]
    dirs += [make_run(tmp_path, 'htnet-small', s, 0.9) for s in range(2)]
    return tmp_path, dirs


def test_rows_honest_leaky_published_inflation(board):
    _, dirs = board
    runs = [load_leaderboard_run(d) for d in dirs]
    check_comparable(runs)
    methods = build_methods(runs, {'ststnet': 'STSTNet'})
    assert [m.name for m in methods] == ['STSTNet', 'htnet-small']
    st = methods[0]
    assert st.honest.seeds == [0, 1, 2] and st.leaky.seeds == [0, 1]
    assert methods[1].leaky is None
    assert load_published(num_folds=6) == {}  # a 6-fold slice: not beside the 68-fold numbers
    published = load_published(num_folds=68)
    rows = leaderboard_rows(methods, published)
    full = rows[0]['reports']['pooled']['UF1']
    honest = [json.load(open(osp.join(d, 'summary.json')))['pooled']['UF1'] for d in dirs[:3]]
    leaky = [json.load(open(osp.join(d, 'summary.json')))['pooled']['UF1'] for d in dirs[3:5]]
    assert full['honest'] == pytest.approx(np.mean(honest))
    assert full['honest_std'] == pytest.approx(np.std(honest, ddof=1))
    assert full['leaky'] == pytest.approx(np.mean(leaky))
    assert full['published'] == 0.7353  # STSTNet, composite, from the committed table
    assert full['inflation'] == pytest.approx(np.mean(leaky) - np.mean(honest))
    assert full['gap'] == pytest.approx(0.7353 - np.mean(honest))
    samm = rows[0]['reports']['dataset samm']['UAR']
    assert samm['published'] == 0.6810 and samm['honest'] is not None
    assert rows[1]['reports']['pooled']['UF1']['published'] is None  # not a published method


def test_markdown_marks_missing_seeds_and_gives_verdicts(board):
    _, dirs = board
    methods = build_methods([load_leaderboard_run(d) for d in dirs], {'ststnet': 'STSTNet'})
    text = leaderboard_markdown(methods, load_published(), seeds=3, leaky_seeds=3,
                                baseline='STSTNet', figure='leaderboard.png')
    assert '| STSTNet | 0, 1, 2 |' in text  # all asked-for seeds: unmarked
    assert '| htnet-small | 0, 1 **(2 of 3)** |' in text
    assert '(0, 1 **(2 of 3)**)' in text  # STSTNet's leaky column: 2 of 3 leaky seeds
    assert '**Fewer seeds than asked for** (3 honest, 3 leaky): STSTNet, htnet-small.' in text
    assert '| htnet-small - STSTNet | UF1 | 2 |' in text
    assert 'Liong' in text and '![honest, leaky and published composite UF1](leaderboard.png)' \
        in text


@pytest.mark.parametrize('bad, match', [
    (dict(classes=['negative', 'positive', 'surprise', 'other']), 'class set'),
    (dict(data_hash='d2'), r'data set \(loso_run.json data hash\)'),
    (dict(subjects=SUBJECTS[:5]), r'folds \(5 folds vs 6\)'),
    (dict(protocol='lodo'), "leave-one-dataset-out.*folds by 'dataset'"),
])
def test_mixed_input_is_an_error_naming_the_work_dirs(board, bad, match):
    root, dirs = board
    odd = make_run(root, 'odd', 0, 0.5, **bad)
    runs = [load_leaderboard_run(d) for d in dirs + [odd]]
    with pytest.raises(LeaderboardError, match=match) as err:
        check_comparable(runs)
    assert osp.basename(odd) in str(err.value)


def test_two_configs_for_one_method_and_a_missing_run_file_are_errors(board):
    root, dirs = board
    other = make_run(root, 'ststnet-b', 0, 0.6)
    runs = [load_leaderboard_run(d) for d in dirs + [other]]
    with pytest.raises(LeaderboardError, match='STSTNet: its honest runs come from 2 experiments'):
        build_methods(runs, {'ststnet': 'STSTNet', 'ststnet-b': 'STSTNet'})
    (root / 'ststnet-b_honest_s0' / RUN_FILE).unlink()
    with pytest.raises(LeaderboardError, match='no data identity'):
        load_leaderboard_run(other)


def test_tool_writes_markdown_and_figure_and_fails_in_one_line(board, capsys):
    root, dirs = board
    tool = load_tool('tools/analysis/leaderboard.py')
    out, fig = root / 'lb.md', root / 'lb.png'
    assert tool.main([*dirs, '--method', 'ststnet=STSTNet', '--seeds', '3', '--baseline',
                      'STSTNet', '--out', str(out), '--figure', str(fig), '--note',
                      'A test board.']) == 0
    text = out.read_text()
    assert text.startswith('# MEGC2019-composite leaderboard')
    assert '\nA test board. Published numbers left out: they cover the 68-fold composite, these ' \
        'runs 6 folds.\n' in text and '0.7353' not in text and '| 0.735 |' not in text
    assert '](lb.png)' in text and fig.stat().st_size > 1000
    odd = make_run(root, 'odd', 0, 0.5, data_hash='d2')
    assert tool.main([*dirs, odd]) == 2
    err = capsys.readouterr().err
    assert 'differ in their data set' in err and 'Traceback' not in err
    assert tool.main([*dirs, '--baseline', 'nope']) == 2
    assert "baseline 'nope' has no honest runs" in capsys.readouterr().err


def test_cross_dataset_table_from_leave_one_dataset_out_runs(board, capsys):
    root, dirs = board
    lodo = [make_run(root, 'ststnet', s, 0.5 + 0.1 * s, protocol='lodo') for s in range(3)]
    lodo += [make_run(root, 'htnet-small', s, 0.9, protocol='lodo') for s in range(2)]
    tool = load_tool('tools/analysis/leaderboard.py')
    out, js = root / 'lb.md', root / 'lb.json'
    assert tool.main([*dirs, *lodo, '--method', 'ststnet=STSTNet', '--seeds', '3',
                      '--cross-seeds', '3', '--baseline', 'STSTNet', '--out', str(out),
                      '--json', str(js)]) == 0
    text = out.read_text()
    cross = text[text.index('## Cross-dataset: leave one dataset out'):]
    composite = text[:text.index('## Cross-dataset')]
    # the composite board is made of the LOSO runs only, the cross table of the lodo runs only
    assert '## Honest (last epoch)' in composite and 'lodo' not in composite
    summaries = [json.load(open(osp.join(d, 'summary.json'))) for d in lodo[:3]]
    smic = [s['per_dataset']['smic']['UF1'] for s in summaries]
    pooled = [s['pooled']['UF1'] for s in summaries]
    row = [line for line in cross.splitlines() if line.startswith('| STSTNet |')][0]
    cells = [c.strip() for c in row.split('|')[1:-1]]
    assert cells[1] == '0, 1, 2'
    assert cells[2] == f'{np.mean(smic):.3f} +- {np.std(smic, ddof=1):.3f}'  # held-out SMIC
    assert cells[8] == f'{np.mean(pooled):.3f} +- {np.std(pooled, ddof=1):.3f}'  # all three
    assert '| htnet-small | 0, 1 **(2 of 3)** |' in cross
    assert '## Paired over seeds against STSTNet (honest, cross-dataset' in cross
    assert '| htnet-small - STSTNet | UF1 | 2 |' in cross
    rows = json.loads(js.read_text())
    assert [r['method'] for r in rows['cross_dataset']] == ['STSTNet', 'htnet-small']
    assert rows['cross_dataset'][0]['reports']['pooled']['UF1']['mean'] == \
        pytest.approx(np.mean(pooled))
    # a leaky leave-one-dataset-out run, or one on other data, is an error naming it
    leaky = make_run(root, 'ststnet', 0, 0.9, leaky=True, protocol='lodo')
    assert tool.main([*lodo, leaky]) == 2
    assert 'cross-dataset table reports honest runs only' in capsys.readouterr().err
    odd = make_run(root, 'odd', 0, 0.5, data_hash='d2', protocol='lodo')
    assert tool.main([*lodo, odd]) == 2
    err = capsys.readouterr().err
    assert 'odd_honest_lodo_s0' in err and 'differ in their data set' in err


def test_runs_of_another_protocol_are_an_error_naming_them(board):
    root, dirs = board
    runs = [load_leaderboard_run(d) for d in dirs]
    fixed = load_leaderboard_run(make_run(root, 'fixed', 0, 0.5))
    fixed.summary.protocol = 'splits'
    with pytest.raises(LeaderboardError, match='fixed_honest_s0.*leave-one-dataset-out runs'):
        split_protocols(runs + [fixed])
    lodo = load_leaderboard_run(make_run(root, 'ststnet', 0, 0.5, protocol='lodo'))
    assert split_protocols(runs + [lodo]) == (runs, [lodo])
