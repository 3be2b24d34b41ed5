"""Mean +- std over seeds of LOSO runs, and a paired comparison of two configs over seeds.

One LOSO run of a small model on a small set is one draw: changing only ``--seed`` moves UF1 by
several points. A result is therefore a set of runs of one config with different seeds (each a
``tools/loso.py`` work dir with its ``summary.json``), reported as the mean and the *sample*
standard deviation (n - 1) over seeds; two configs are compared on the seeds they share, paired by
seed (same folds, same test clips), with a two-sided paired t-test and the exact sign-flip
(permutation) test. A difference whose paired test does not reject at ``alpha`` is a tie.

Runs are grouped by config hash (the config with its ``--cfg-options``; the seed is not part of
it) and fold mode (``batched`` folds run the same protocol as the per-fold modes in another float
summation order, so the two are compared, paired by seed, rather than pooled). Within a group
the runs must cover the same folds and test samples with the same checkpoint rule and distinct
seeds, and two compared groups must share their folds and test samples;
anything else is an error naming the work dirs, never a silently mixed mean. Every reported group
of a summary is kept: ``pooled`` and, for a joint annotation such as the MEGC2019 composite, one
``dataset <name>`` per source dataset (fixed splits: one per test split).
"""
import itertools
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .summary import METRICS, LOSOSummary

STD_NOTE = 'sample std over seeds (n - 1)'


class SeedTableError(ValueError):
    """Runs that cannot be summarised or compared (missing, mixed or mismatched)."""


@dataclass
class RunGroup:
    """The runs (``(work_dir, summary)``) of one config, ordered by seed."""
    name: str
    config: str
    config_hash: str
    fold_mode: str = ''
    runs: List[Tuple[str, LOSOSummary]] = field(default_factory=list)

    @property
    def seeds(self) -> List[int]:
        return [run_seed(s) for _, s in self.runs]

    def by_seed(self) -> Dict[int, LOSOSummary]:
        return {run_seed(s): s for _, s in self.runs}


def load_run(path: str) -> Tuple[str, LOSOSummary]:
    """``(work_dir, summary)`` of a ``tools/loso.py`` work dir (or its summary.json); a path that
    holds none is a :class:`~.summary.SummaryError` naming the file."""
    file = osp.join(path, 'summary.json') if osp.isdir(path) else path
    return osp.dirname(osp.abspath(file)), LOSOSummary.load(path)


def run_seed(summary: LOSOSummary) -> Optional[int]:
    return (summary.seeds or {}).get('base')


def run_fold_mode(summary: LOSOSummary) -> str:
    """``batched``, or ``per-fold`` for the subprocess / in-process modes (the same arithmetic:
    each fold is one Runner's training)."""
    modes = {f.get('fold_mode') for f in summary.per_fold or []}
    return 'batched' if 'batched' in modes else 'per-fold'


def _fingerprint(summary: LOSOSummary) -> Dict:
    """What must agree between runs that are averaged or compared."""
    return dict(protocol=summary.protocol, classes=summary.classes,
                folds=sorted(f['fold'] for f in summary.per_fold),
                samples={g: m['num_samples'] for g, m in summary.groups().items()})


def _diff(fa: Dict, fb: Dict) -> List[str]:
    return [f'{k}: {fa[k]} vs {fb[k]}' for k in fa if fa[k] != fb[k]]


def group_runs(runs: Sequence[Tuple[str, LOSOSummary]],
               names: Optional[Sequence[str]] = None) -> List[RunGroup]:
    """Group runs by config hash (in order of first appearance) and check each group.

    ``names``: one label per group (default: the config's name, with the hash's first 8 digits
    when two groups share a name, e.g. the same config with other ``--cfg-options``).
    """
    if not runs:
        raise SeedTableError('no runs given')
    groups: Dict[str, RunGroup] = {}
    for work_dir, s in runs:
        if not s.config_hash:
            raise SeedTableError(f'{work_dir}: summary.json has no config_hash (not written by '
                                 'tools/loso.py?)')
        mode = run_fold_mode(s)
        g = groups.setdefault((s.config_hash, mode), RunGroup(
            name=s.experiment or osp.splitext(osp.basename(s.config or '?'))[0],
            config=s.config or '?', config_hash=s.config_hash, fold_mode=mode))
        g.runs.append((work_dir, s))
    out = list(groups.values())
    if names is not None:
        if len(names) != len(out):
            raise SeedTableError(f'{len(names)} name(s) for {len(out)} group(s) of runs '
                                 f'({", ".join(g.name for g in out)})')
        for g, n in zip(out, names):
            g.name = n
    else:  # groups sharing a name are told apart by what differs: config hash, fold mode
        by_name: Dict[str, List[RunGroup]] = {}
        for g in out:
            by_name.setdefault(g.name, []).append(g)
        for name, same in by_name.items():
            if len(same) < 2:
                continue
            hashes = len({g.config_hash for g in same}) > 1
            modes = len({g.fold_mode for g in same}) > 1
            for g in same:
                tags = ([g.config_hash[:8]] if hashes else []) + ([g.fold_mode] if modes else [])
                g.name = f'{name} [{", ".join(tags)}]'
    for g in out:
        seen = {}
        for work_dir, s in g.runs:
            seed = run_seed(s)
            if seed is None:
                raise SeedTableError(f'{work_dir}: summary.json records no seed')
            if seed in seen:
                raise SeedTableError(f'{g.name}: seed {seed} appears twice ({seen[seed]} and '
                                     f'{work_dir}); give each seed once')
            seen[seed] = work_dir
        ref_dir, ref = g.runs[0]
        for work_dir, s in g.runs[1:]:
            bad = _diff(_fingerprint(ref), _fingerprint(s))
            if s.checkpoint_rule != ref.checkpoint_rule:
                bad.append(f'checkpoint_rule: {ref.checkpoint_rule} vs {s.checkpoint_rule}')
            if bad:
                raise SeedTableError(f'{g.name}: {ref_dir} and {work_dir} are not runs of the '
                                     f'same experiment ({"; ".join(bad)}); re-run the missing '
                                     'folds or leave one out')
        g.runs.sort(key=lambda r: run_seed(r[1]))
    return out


def mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (n - 1; None for a single value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None)


def seed_statistics(group: RunGroup) -> Dict[str, Dict]:
    """``{report group: {num_samples, metric: {values: {seed: v}, mean, std, n}}}``.

    Report groups: ``pooled`` (+ ``dataset <name>``) for LOSO, the test splits otherwise.
    """
    out = {}
    for rg, block in group.runs[0][1].groups().items():
        entry = dict(num_samples=block['num_samples'])
        for k in METRICS:
            vals = {run_seed(s): s.headline()[rg][k] for _, s in group.runs}
            mean, std = mean_std(list(vals.values()))
            entry[k] = dict(values=vals, mean=mean, std=std, n=len(vals))
        out[rg] = entry
    return out


def train_seconds_per_fold(group: RunGroup) -> Optional[float]:
    """Mean training time of one fold over all folds of all runs (None when not recorded)."""
    secs = [f['train_seconds'] for _, s in group.runs for f in s.per_fold
            if f.get('train_seconds') is not None]
    return float(np.mean(secs)) if secs else None


def student_t_sf2(t: float, df: int) -> float:
    """Two-sided p-value P(|T| >= |t|) of Student's t with ``df`` degrees of freedom (scipy, which
    scikit-learn brings)."""
    from scipy.stats import t as student_t  # here: only the paired comparison needs scipy
    if df < 1:
        raise ValueError(f'df must be >= 1, got {df}')
    return float(min(1.0, 2.0 * student_t.sf(abs(t), df)))


def sign_flip_p(diffs: Sequence[float], exact_up_to: int = 16) -> float:
    """Two-sided sign-flip (paired permutation) p-value of the mean difference: the share of the
    2^n sign patterns whose |mean| reaches the observed one; exact up to ``exact_up_to`` pairs,
    else estimated on 100000 random patterns (fixed seed). It is never below 2 / 2^n (0.0625
    for 5 seeds), so few seeds cannot give a small p with it."""
    d = np.asarray(diffs, dtype=float)
    obs = abs(d.mean())
    if len(d) <= exact_up_to:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.random.default_rng(0).choice((1.0, -1.0), size=(100000, len(d)))
    return float(np.mean(np.abs(signs @ d / len(d)) >= obs - 1e-12))


def paired_comparison(a: RunGroup, b: RunGroup, alpha: float = 0.05) -> Dict[str, Dict]:
    """B - A on the seeds both groups ran, per report group and metric.

    ``{report group: {metric: {seeds, diffs, mean, std, t, p_t, p_sign_flip, b_better,
    beyond_noise}}}``; ``beyond_noise``: the paired t-test rejects "no difference" at ``alpha``
    (two-sided). Needs two shared seeds and the same folds and test samples.
    """
    sa, sb = a.by_seed(), b.by_seed()
    seeds = sorted(set(sa) & set(sb))
    if len(seeds) < 2:
        raise SeedTableError(f'{a.name} and {b.name} share {len(seeds)} seed(s) '
                             f'({seeds}); a paired comparison needs at least 2')
    bad = _diff(_fingerprint(a.runs[0][1]), _fingerprint(b.runs[0][1]))
    if bad:
        raise SeedTableError(f'{a.name} and {b.name} were not tested on the same folds and '
                             f'samples ({"; ".join(bad)}); their numbers are not comparable')
    out = {}
    for rg in a.runs[0][1].groups():
        entry = {}
        for k in METRICS:
            d = [sb[s].headline()[rg][k] - sa[s].headline()[rg][k] for s in seeds]
            mean, std = mean_std(d)
            n = len(d)
            if std == 0:
                t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
            else:
                t = mean / (std / math.sqrt(n))
            p_t = student_t_sf2(t, n - 1)
            entry[k] = dict(seeds=seeds, diffs=d, mean=mean, std=std, t=t, p_t=p_t,
                            p_sign_flip=sign_flip_p(d), b_better=sum(x > 0 for x in d),
                            beyond_noise=p_t < alpha)
        out[rg] = entry
    return out


def _ms(mean: float, std: Optional[float]) -> str:
    return f'{mean:.3f} +- {std:.3f}' if std is not None else f'{mean:.3f}'


def seed_table_markdown(groups: Sequence[RunGroup], baseline: int = 0, alpha: float = 0.05,
                        per_seed: bool = True) -> str:
    """Markdown: mean +- std per config and report group, the per-seed values, and every other
    group compared with ``groups[baseline]`` (paired over shared seeds) with a plain verdict."""
    stats = [seed_statistics(g) for g in groups]
    lines = [f'Mean +- {STD_NOTE}; pooled over LOSO folds, as each summary.json reports.', '',
             '| config | report | seeds | test samples | UF1 | UAR | ACC | train s / fold |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for g, st in zip(groups, stats):
        secs = train_seconds_per_fold(g)
        for rg, e in st.items():
            lines.append(f"| {g.name} | {rg} | {', '.join(map(str, g.seeds))} | "
                         f"{e['num_samples']} | "
                         + ' | '.join(_ms(e[k]['mean'], e[k]['std']) for k in METRICS)
                         + f" | {'-' if secs is None else f'{secs:.0f}'} |")
    if per_seed:
        lines += ['', '| config | report | seed | UF1 | UAR | ACC |',
                  '| --- | --- | --- | --- | --- | --- |']
        for g, st in zip(groups, stats):
            for rg, e in st.items():
                for seed in g.seeds:
                    lines.append(f'| {g.name} | {rg} | {seed} | '
                                 + ' | '.join(f"{e[k]['values'][seed]:.3f}" for k in METRICS)
                                 + ' |')
    base = groups[baseline]
    for i, g in enumerate(groups):
        if i == baseline:
            continue
        cmp = paired_comparison(base, g, alpha)
        lines += ['', f'Paired over seeds: {g.name} - {base.name}', '',
                  '| report | metric | seeds | mean diff +- std | t | p (paired t) | '
                  'p (sign flip) | better in | verdict |',
                  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
        for rg, entry in cmp.items():
            for k, c in entry.items():
                verdict = (('higher' if c['mean'] > 0 else 'lower') + ' beyond the seed spread'
                           if c['beyond_noise'] else 'tie (inside the seed spread)')
                lines.append(f"| {rg} | {k} | {len(c['seeds'])} | "
                             f"{c['mean']:+.3f} +- {c['std']:.3f} | {c['t']:.2f} | "
                             f"{c['p_t']:.3f} | {c['p_sign_flip']:.3f} | "
                             f"{c['b_better']}/{len(c['seeds'])} | {verdict} |")
        lines.append('')
        lines.append(f'Verdict rule: two-sided paired t-test over seeds at alpha = {alpha}. '
                     'Seeds vary initialisation and augmentation on fixed test clips, so this '
                     'measures training noise only, not the sampling noise of the test set.')
    return '\n'.join(lines) + '\n'


__all__ = ['RunGroup', 'SeedTableError', 'load_run', 'group_runs', 'mean_std', 'seed_statistics',
           'train_seconds_per_fold', 'student_t_sf2', 'sign_flip_p', 'paired_comparison',
           'seed_table_markdown', 'STD_NOTE']
