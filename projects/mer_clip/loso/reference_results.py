"""The README's numbers, each with the CPU mode that made it, and a run checked against them.

``reference_results.json`` (beside this module) holds, per README experiment (the demo, a MEGC2019
composite row), the config, folds and seed it was run with and:

- ``reproducible``: the numbers of ``tools/loso.py ... --reproducible`` (seed 0). Any x86-64
  machine running the mode gives them exactly (docs/reproducibility.md);
- ``default``: the seed spread of the default mode (mean, sample std over seeds). Another machine's
  default run is not exact; its expected range is mean +- 2 std (machine differences act like
  another seed: docs/reproducibility.md).

:func:`check_against_reference` says which applies to a finished run and whether it holds; the demo
prints it after its table (``tools/check_result.py``).
"""
import json
import os.path as osp
from typing import Dict, List, Optional

from .summary import METRICS, LOSOSummary

REFERENCE_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'reference_results.json')
EXACT = 5e-5  # the README gives 4 decimals: a reproducible run equals them to the last one
RANGE_STDS = 2.0


def load_references(path: str = REFERENCE_FILE) -> Dict[str, Dict]:
    with open(path) as f:
        return json.load(f)


def find_reference(summary: LOSOSummary, references: Dict[str, Dict]) -> Optional[str]:
    """The name of the README experiment a run is one of (same config, every fold, the same
    options; per-fold schedules when the README's run had them), or None."""
    config = osp.basename(summary.config or '')
    for name, ref in references.items():
        if osp.basename(ref['config']) == config and summary.num_folds == ref['num_folds'] \
                and list(summary.cfg_options or []) == list(ref.get('cfg_options', [])) \
                and bool(summary.fold_cfg_options) == bool(ref.get('fold_cfg_options')):
            return name
    return None


def expected_range(default: Dict, metric: str) -> List[float]:
    """mean +- RANGE_STDS x the seed std of the default mode."""
    mean, std = default['mean'][metric], default['std'][metric]
    return [mean - RANGE_STDS * std, mean + RANGE_STDS * std]


def check_against_reference(summary: LOSOSummary,
                            references: Optional[Dict[str, Dict]] = None) -> List[str]:
    """Lines for the user: this run's pooled numbers beside the README's, and whether they are
    exact (reproducible mode) or inside the default mode's range."""
    references = load_references() if references is None else references
    name = find_reference(summary, references)
    got = summary.pooled or {}
    mine = '  '.join(f'{m} {got[m]:.4f}' for m in METRICS if m in got)
    if name is None:
        return [f'[check] this run: {mine}. The README has no number for this config / these '
                'folds / options (a subset of folds, or other --cfg-options) to compare with.']
    ref = references[name]
    mode = (summary.cpu or {}).get('mode', 'default')
    seed = (summary.seeds or {}).get('base')
    lines = [f'[check] this run ({mode} mode, seed {seed}): {mine}']
    if mode == 'reproducible':
        exact = ref.get('reproducible')
        if exact is None:
            return lines + ['[check] the README has no reproducible-mode number for this run yet.']
        want = '  '.join(f'{m} {exact[m]:.4f}' for m in METRICS if m in exact)
        lines.append(f'[check] README, reproducible mode, seed {exact["seed"]}: {want}')
        if seed != exact['seed']:
            return lines + [f'[check] not comparable: the README\'s exact numbers are of seed '
                            f'{exact["seed"]}; rerun with --seed {exact["seed"]}.']
        off = [m for m in METRICS if m in exact and abs(got[m] - exact[m]) > EXACT]
        if not off:
            return lines + ['[check] EXACT: the same numbers as the README.']
        return lines + [f'[check] DIFFERENT ({", ".join(off)}), although the mode pins the kernel '
                        'paths: compare the pins, kernel paths and versions in summary.json with '
                        f'the README run\'s ({exact.get("machine", "?")}; '
                        f'{exact.get("versions", {})}) and report it (docs/reproducibility.md).']
    default = ref['default']
    lines.append(f'[check] README, default mode, seeds {default["seeds"]}: ' + '  '.join(
        f'{m} {default["mean"][m]:.3f} +- {default["std"][m]:.3f}' for m in METRICS
        if m in default['mean']))
    outside = []
    for m in (m for m in METRICS if m in default['mean']):
        lo, hi = expected_range(default, m)
        if not lo <= got[m] <= hi:
            outside.append(f'{m} {got[m]:.4f} not in [{lo:.3f}, {hi:.3f}]')
    if not outside:
        return lines + [f'[check] INSIDE the expected range (mean +- {RANGE_STDS:g} std): not '
                        'exact in this mode on another machine; --reproducible gives the exact '
                        'numbers.']
    return lines + ['[check] OUTSIDE the expected range: ' + '; '.join(outside)
                    + '. Run with --reproducible to compare exactly.']


__all__ = ['REFERENCE_FILE', 'check_against_reference', 'expected_range', 'find_reference',
           'load_references']
