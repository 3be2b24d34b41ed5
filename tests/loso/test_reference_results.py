"""mer_clip.loso.reference_results: a run beside the README's numbers, exact in the reproducible
mode, inside the seed range in the default mode, and the committed references well formed."""
import json
import os.path as osp

from mer_clip.loso import build_summary
from mer_clip.loso.reference_results import (check_against_reference, expected_range,
                                             load_references)
from mer_clip.loso.summary import METRICS
from tests.conftest import REPO_ROOT, load_tool

CLASSES = ['negative', 'positive', 'surprise']
REFS = {'demo': dict(
    config='configs/demo.py', num_folds=2, cfg_options=[],
    reproducible=dict(seed=0, UF1=0.6, UAR=0.625, ACC=0.6, machine='a CPU'),
    default=dict(seeds=[0, 1], mean=dict(UF1=0.5, UAR=0.5, ACC=0.5),
                 std=dict(UF1=0.05, UAR=0.05, ACC=0.05)))}


def _summary(pairs, mode, seed=0, config='configs/demo.py'):
    """A 2-fold summary whose pooled predictions are ``pairs`` (gt, pred), of ``mode``."""
    half = len(pairs) // 2
    rows = [dict(fold=f, subject=f, sample_id=f'{f}_{i}', gt=g, pred=p, scores=[0.3] * 3)
            for f, part in (('A', pairs[:half]), ('B', pairs[half:]))
            for i, (g, p) in enumerate(part)]
    return build_summary('loso', {'pooled': rows}, CLASSES, config=config, cfg_options=[],
                         seeds=dict(base=seed), cpu=dict(mode=mode))


EXACT_PAIRS = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 0)]
NEAR_PAIRS = [(0, 0), (1, 1), (2, 0), (0, 1), (1, 1)]  # UF1 0.433, UAR 0.5, ACC 0.6


def _pooled(s):
    return {m: s.pooled[m] for m in METRICS}


def test_a_reproducible_run_is_exact_or_different():
    s = _summary(EXACT_PAIRS, 'reproducible')
    got = _pooled(s)
    refs = {'demo': dict(REFS['demo'], reproducible=dict(REFS['demo']['reproducible'], **got))}
    lines = check_against_reference(s, refs)
    assert lines[-1] == '[check] EXACT: the same numbers as the README.'
    assert 'reproducible mode, seed 0' in lines[1]
    refs['demo']['reproducible']['UF1'] += 1e-3  # one number off in the last decimals
    lines = check_against_reference(s, refs)
    assert lines[-1].startswith('[check] DIFFERENT (UF1)') and 'a CPU' in lines[-1]
    other_seed = check_against_reference(_summary(EXACT_PAIRS, 'reproducible', seed=3), refs)
    assert 'rerun with --seed 0' in other_seed[-1]


def test_a_default_run_is_inside_or_outside_the_seed_range():
    near = _summary(NEAR_PAIRS, 'default')
    lines = check_against_reference(near, REFS)
    assert lines[-1].startswith('[check] INSIDE the expected range (mean +- 2 std)'), lines
    far = _summary([(0, 0), (1, 1), (2, 2), (0, 0)], 'default')  # all right: 1.0
    lines = check_against_reference(far, REFS)
    assert lines[-1].startswith('[check] OUTSIDE') and 'UF1 1.0000 not in [0.400, 0.600]' in \
        lines[-1]
    assert expected_range(REFS['demo']['default'], 'UAR') == [0.4, 0.6]


def test_a_run_the_readme_has_no_number_for_says_so():
    s = _summary(EXACT_PAIRS, 'default', config='configs/other.py')
    (line, ) = check_against_reference(s, REFS)
    assert 'has no number for this config' in line
    scheduled = _summary(EXACT_PAIRS, 'default')
    scheduled.fold_cfg_options = {'A': ['train_cfg.max_epochs=2']}  # not the README's run
    assert 'has no number' in check_against_reference(scheduled, REFS)[0]


def test_the_committed_references_name_their_mode_and_range():
    refs = load_references()
    assert 'demo' in refs
    for name, ref in refs.items():
        assert osp.isfile(osp.join(REPO_ROOT, ref['config'])), name
        exact = ref.get('reproducible')  # the exact numbers: seed 0 in the reproducible mode
        assert exact is None or (exact['seed'] == 0 and exact['machine'] and exact['versions'])
        default = ref['default']  # the default mode: its seed spread
        assert set(default['mean']) == set(default['std']) <= set(METRICS) and default['seeds']


def test_the_tool_exits_1_on_a_mismatch(tmp_path, capsys):
    tool = load_tool('tools/check_result.py')
    s = _summary([(0, 0), (1, 1), (2, 2), (0, 0)], 'default',
                 config='configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py')
    s.num_folds = load_references()['demo']['num_folds']  # stands for the demo's 8 folds
    (tmp_path / 'summary.json').write_text(json.dumps(s.to_json()))
    assert tool.main([str(tmp_path)]) == 1
    assert 'OUTSIDE the expected range' in capsys.readouterr().out
    near = _summary(NEAR_PAIRS, 'default', config=s.config)
    near.num_folds = s.num_folds
    (tmp_path / 'summary.json').write_text(json.dumps(near.to_json()))
    assert tool.main([str(tmp_path)]) == 0
