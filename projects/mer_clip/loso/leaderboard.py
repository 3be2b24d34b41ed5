"""The MEGC2019-composite leaderboard: honest, leaky and published numbers side by side.

Input: ``tools/loso.py`` work dirs. Each run belongs to a method (its config name, or a name given
by ``method_of``: the authors' and our schedule of one model can share a method) and is either
**honest** (a fold reports its last epoch) or **leaky** (``--select-on-test-fold-UNSAFE``: the
epoch with the best UF1 on the test subject, as most published composite numbers are obtained).
Per method and report (Full composite = the pooled predictions, SMIC, CASME II, SAMM; UF1 and
UAR): the mean +- sample std over the honest seeds, the leaky mean beside it, the published
number with its source (``published_megc2019.json``), the inflation (leaky - honest) and the gap
(published - honest); then every method paired by seed against the baseline (STSTNet), with the
verdict rule of :mod:`.seed_table` (two-sided paired t-test at alpha).

**Cross-dataset** (leave one dataset out, ``tools/loso.py --protocol lodo``): such runs get a
table of their own, per method the UF1 / UAR of each held-out dataset (trained on the other two)
and of the three test folds pooled, mean +- std over seeds, paired against the baseline the same
way (:func:`split_protocols`, :func:`cross_dataset_markdown`).

Bad input is an error naming the work dirs: runs of another protocol, class set or data set
(``loso_run.json``'s data hash) than the first of their table, other folds, or a method whose
honest (or leaky) runs come from two configs. A method with fewer seeds than asked for is marked,
not dropped.
"""
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .plan import CHECKPOINT_RULE_UNSAFE, RUN_FILE
from .seed_table import (RunGroup, SeedTableError, group_runs, load_run, paired_comparison,
                         seed_statistics)
from .summary import LOSOSummary

#: the reports of the table: (summary group, column title)
REPORTS = (('pooled', 'Full'), ('dataset smic', 'SMIC'), ('dataset casme2', 'CASME II'),
           ('dataset samm', 'SAMM'))
#: the cross-dataset table's reports: each held-out dataset, then the three test folds pooled
CROSS_REPORTS = (('dataset smic', 'SMIC'), ('dataset casme2', 'CASME II'),
                 ('dataset samm', 'SAMM'), ('pooled', 'all three'))
#: what each table's runs are folded by: LOSO by subject, leave-one-dataset-out by dataset
TABLE_FOLD_KEYS = {'subject': 'leave-one-subject-out', 'dataset': 'leave-one-dataset-out'}
METRICS = ('UF1', 'UAR')
PUBLISHED_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'published_megc2019.json')


class LeaderboardError(ValueError):
    """Runs that cannot share one leaderboard (the message names them and why)."""


@dataclass
class Run:
    """One LOSO work dir: its summary and its data identity (``loso_run.json``)."""
    work_dir: str
    summary: LOSOSummary
    data_hash: str

    @property
    def leaky(self) -> bool:
        return (self.summary.checkpoint_rule or '') == CHECKPOINT_RULE_UNSAFE

    @property
    def experiment(self) -> str:
        s = self.summary
        return s.experiment or osp.splitext(osp.basename(s.config or '?'))[0]


@dataclass
class Method:
    """A leaderboard row: the honest and the leaky runs of one method (either may be None)."""
    name: str
    honest: Optional[RunGroup]
    leaky: Optional[RunGroup]


def load_leaderboard_run(path: str) -> Run:
    """A work dir (summary.json + loso_run.json) as a :class:`Run`; errors name the file."""
    work_dir, summary = load_run(path)
    state_file = osp.join(work_dir, RUN_FILE)
    try:
        with open(state_file) as f:
            state = json.load(f)
        data_hash = state['data']['hash']
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LeaderboardError(f'{state_file}: no data identity ({type(err).__name__}: {err}); '
                               'the leaderboard needs work dirs written by tools/loso.py') from None
    return Run(work_dir, summary, data_hash)


def split_protocols(runs: Sequence[Run]) -> Tuple[List[Run], List[Run]]:
    """(leave-one-subject-out runs, leave-one-dataset-out runs); a run of any other protocol
    (fixed splits, folds by another field) is an error naming it."""
    loso, lodo = [], []
    for run in runs:
        s = run.summary
        folds_by = s.fold_key or 'subject'
        if s.protocol == 'loso' and folds_by in TABLE_FOLD_KEYS:
            (loso if folds_by == 'subject' else lodo).append(run)
        else:
            raise LeaderboardError(
                f'{run.work_dir}: protocol {s.protocol_title or s.protocol!r} (folds by '
                f'{folds_by!r}); the leaderboard reports leave-one-subject-out runs and, in a '
                'table of their own, leave-one-dataset-out runs')
    return loso, lodo


def check_comparable(runs: Sequence[Run], fold_key: str = 'subject') -> None:
    """All runs: one protocol (LOSO folded by ``fold_key``: ``subject``, or ``dataset`` for the
    cross-dataset table), class set, data set and set of folds, else an error."""
    if not runs:
        raise LeaderboardError('no work dirs given')
    ref = runs[0]
    for run in runs:
        s = run.summary
        folds_by = s.fold_key or 'subject'
        if s.protocol != 'loso' or folds_by != fold_key:
            other = ('(leave-one-dataset-out runs get a table of their own)'
                     if fold_key == 'subject' else '(the composite board takes the others)')
            raise LeaderboardError(
                f'{run.work_dir}: protocol {s.protocol_title or s.protocol!r} (folds by '
                f'{folds_by!r}); this table reports {TABLE_FOLD_KEYS[fold_key]} runs only '
                + other)
        checks = [('protocol', s.protocol, ref.summary.protocol),
                  ('class set', s.classes, ref.summary.classes),
                  ('data set (loso_run.json data hash)', run.data_hash, ref.data_hash),
                  ('folds', sorted(f['fold'] for f in s.per_fold),
                   sorted(f['fold'] for f in ref.summary.per_fold))]
        for what, mine, theirs in checks:
            if mine != theirs:
                shown = (f'{len(mine)} folds vs {len(theirs)}' if what == 'folds'
                         else f'{mine} vs {theirs}')
                raise LeaderboardError(
                    f'{run.work_dir} and {ref.work_dir} differ in their {what} ({shown}); one '
                    'leaderboard compares runs of one protocol, class set, data set and fold set: '
                    'leave the other run out or make a leaderboard of its own')


def build_methods(runs: Sequence[Run], method_of: Optional[Dict[str, str]] = None) -> List[Method]:
    """Group the runs into methods (in order of first appearance), honest and leaky apart."""
    method_of = dict(method_of or {})
    order: List[str] = []
    parts: Dict[Tuple[str, bool], List[Run]] = {}
    for run in runs:
        name = method_of.get(run.experiment, run.experiment)
        if name not in order:
            order.append(name)
        parts.setdefault((name, run.leaky), []).append(run)
    methods = []
    for name in order:
        groups = []
        for leaky in (False, True):
            rs = parts.get((name, leaky))
            if not rs:
                groups.append(None)
                continue
            try:
                found = group_runs([(r.work_dir, r.summary) for r in rs])
            except SeedTableError as err:
                raise LeaderboardError(f'{name} ({"leaky" if leaky else "honest"}): {err}') \
                    from None
            if len(found) > 1:
                raise LeaderboardError(
                    f'{name}: its {"leaky" if leaky else "honest"} runs come from {len(found)} '
                    'experiments (' + ', '.join(f'{g.config} [{g.fold_mode}]' for g in found)
                    + '); give one config and fold mode per method and kind (the hash covers '
                    'the --cfg-options; batched and per-fold runs are compared, not pooled)')
            found[0].name = name
            groups.append(found[0])
        methods.append(Method(name, *groups))
    return methods


def load_published(path: str = PUBLISHED_FILE, num_folds: Optional[int] = None
                   ) -> Dict[str, Dict]:
    """``{method: {source, report: {UF1, UAR}}}`` of the committed table of published numbers;
    empty when ``num_folds`` (of the runs) is not the number of folds the table covers (a slice
    of the composite is not comparable with a published full-composite number)."""
    with open(path) as f:
        data = json.load(f)
    if num_folds is not None and data.get('num_folds') not in (None, num_folds):
        return {}
    return data['methods']


def _cell(stats: Optional[Dict], report: str, metric: str) -> Tuple[Optional[float], str]:
    if stats is None or report not in stats:
        return None, '-'
    e = stats[report][metric]
    text = f"{e['mean']:.3f}" + (f" +- {e['std']:.3f}" if e['std'] is not None else '')
    return e['mean'], text


def _seeds_note(group: Optional[RunGroup], wanted: Optional[int]) -> str:
    if group is None:
        return '-'
    seeds = ', '.join(map(str, group.seeds))
    if wanted and len(group.seeds) < wanted:
        return f'{seeds} **({len(group.seeds)} of {wanted})**'
    return seeds


def leaderboard_rows(methods: Sequence[Method], published: Dict[str, Dict]) -> List[Dict]:
    """One dict per method: seeds, honest / leaky / published per report and metric, inflation
    (leaky - honest) and gap (published - honest), all None where missing."""
    rows = []
    for m in methods:
        hs = seed_statistics(m.honest) if m.honest else None
        ls = seed_statistics(m.leaky) if m.leaky else None
        pub = published.get(m.name, {})
        row = dict(method=m.name, honest_seeds=m.honest.seeds if m.honest else [],
                   leaky_seeds=m.leaky.seeds if m.leaky else [], source=pub.get('source'),
                   reports={})
        for report, _ in REPORTS:
            cells = {}
            for k in METRICS:
                h, _ = _cell(hs, report, k)
                lk, _ = _cell(ls, report, k)
                p = pub.get(report, {}).get(k)
                cells[k] = dict(
                    honest=h, honest_std=(hs[report][k]['std'] if hs and report in hs else None),
                    leaky=lk, published=p,
                    inflation=None if h is None or lk is None else lk - h,
                    gap=None if h is None or p is None else p - h)
            row['reports'][report] = cells
        rows.append(row)
    return rows


def cross_dataset_rows(methods: Sequence[Method]) -> List[Dict]:
    """One dict per leave-one-dataset-out method: seeds, and per report and metric the mean and
    std over seeds (the JSON beside :func:`cross_dataset_markdown`)."""
    rows = []
    for m in methods:
        st = seed_statistics(m.honest)
        rows.append(dict(method=m.name, seeds=m.honest.seeds, reports={
            rep: {k: dict(mean=st[rep][k]['mean'], std=st[rep][k]['std']) for k in METRICS}
            for rep, _ in CROSS_REPORTS if rep in st}))
    return rows


def _f(x: Optional[float], signed: bool = False) -> str:
    return '-' if x is None else (f'{x:+.3f}' if signed else f'{x:.3f}')


def leaderboard_markdown(methods: Sequence[Method], published: Dict[str, Dict],
                         seeds: Optional[int] = None, leaky_seeds: Optional[int] = None,
                         baseline: Optional[str] = None, alpha: float = 0.05,
                         figure: Optional[str] = None, note: Optional[str] = None,
                         cross: Sequence[Method] = (), cross_seeds: Optional[int] = None) -> str:
    """The leaderboard as Markdown (module docstring); ``seeds`` / ``leaky_seeds``: the numbers
    of seeds asked for (fewer are marked in bold); ``note``: a paragraph under the title (what
    the runs are); ``cross``: the leave-one-dataset-out methods (:func:`cross_dataset_markdown`,
    ``cross_seeds`` asked for)."""
    rows = leaderboard_rows(methods, published)
    out = ['# MEGC2019-composite leaderboard', '',
           'Generated by `tools/analysis/leaderboard.py` from LOSO work dirs.', '']
    if note:
        out += [note, '']
    if not methods:  # leave-one-dataset-out runs only
        return '\n'.join(out + cross_dataset_markdown(cross, cross_seeds, baseline, alpha)) + '\n'
    out += ['Honest: each fold tested once, on its last epoch; mean +- sample std (n - 1) over '
           'seeds, predictions pooled over the folds. Leaky: `--select-on-test-fold-UNSAFE` '
           '(the best epoch on each test subject). Published: as the authors report it.', '',
           '## Honest (last epoch)', '',
           '| method | seeds | ' + ' | '.join(f'{t} UF1 | {t} UAR' for _, t in REPORTS) + ' |',
           '| --- | --- |' + ' --- |' * (2 * len(REPORTS))]
    by_name = {m.name: m for m in methods}
    for r in rows:
        st = seed_statistics(by_name[r['method']].honest) if by_name[r['method']].honest else None
        out.append(f"| {r['method']} | {_seeds_note(by_name[r['method']].honest, seeds)} | "
                   + ' | '.join(_cell(st, rep, k)[1] for rep, _ in REPORTS for k in METRICS)
                   + ' |')
    out += ['', '## Honest vs leaky vs published', '',
            '| method | report | metric | honest | leaky (seeds) | published | inflation '
            '(leaky - honest) | published - honest |',
            '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in rows:
        m = by_name[r['method']]
        for rep, title in REPORTS:
            for k in METRICS:
                c = r['reports'][rep][k]
                if c['honest'] is None and c['leaky'] is None and c['published'] is None:
                    continue
                out.append(f"| {r['method']} | {title} | {k} | {_f(c['honest'])} | "
                           f"{_f(c['leaky'])} ({_seeds_note(m.leaky, leaky_seeds)}) | "
                           f"{_f(c['published'])} | {_f(c['inflation'], True)} | "
                           f"{_f(c['gap'], True)} |")
    sources = [(r['method'], r['source']) for r in rows if r['source']]
    if sources:
        out += ['', 'Published numbers: '
                + '; '.join(f'{name}: {src}' for name, src in sources) + '.']
    if figure:
        out += ['', f'![honest, leaky and published composite UF1]({figure})']
    if baseline is not None and methods:
        out += _paired_section(methods, baseline, alpha)
    marked = [m.name for m in methods
              if (seeds and m.honest and len(m.honest.seeds) < seeds)
              or (leaky_seeds and m.leaky and len(m.leaky.seeds) < leaky_seeds)]
    if marked:
        out += ['', f"**Fewer seeds than asked for** ({seeds} honest, {leaky_seeds} leaky): "
                + ', '.join(marked) + '.']
    if cross:
        out += cross_dataset_markdown(cross, cross_seeds, baseline, alpha)
    return '\n'.join(out) + '\n'


def cross_dataset_markdown(methods: Sequence[Method], seeds: Optional[int] = None,
                           baseline: Optional[str] = None, alpha: float = 0.05) -> List[str]:
    """The leave-one-dataset-out table (lines of Markdown): per method the UF1 / UAR of each
    held-out dataset and of the three test folds pooled, mean +- std over its seeds (fewer than
    ``seeds``: marked), then each method paired against ``baseline`` on the pooled test folds."""
    out = ['', '## Cross-dataset: leave one dataset out (honest, last epoch)', '',
           'Each source dataset is held out in turn: trained on the other two, tested on it '
           '(`tools/loso.py --protocol lodo`, the configs\' own schedules). A column is the '
           'held-out dataset; "all three" pools the three test folds. Mean +- sample std over '
           'seeds.', '',
           '| method | seeds | ' + ' | '.join(f'{t} UF1 | {t} UAR' for _, t in CROSS_REPORTS)
           + ' |', '| --- | --- |' + ' --- |' * (2 * len(CROSS_REPORTS))]
    for m in methods:
        if m.leaky is not None:
            raise LeaderboardError(
                f'{m.name}: leave-one-dataset-out runs with --select-on-test-fold-UNSAFE '
                f'({", ".join(w for w, _ in m.leaky.runs)}); the cross-dataset table reports '
                'honest runs only')
        st = seed_statistics(m.honest)
        out.append(f'| {m.name} | {_seeds_note(m.honest, seeds)} | '
                   + ' | '.join(_cell(st, rep, k)[1] for rep, _ in CROSS_REPORTS
                                for k in METRICS) + ' |')
    if baseline is not None:
        out += _paired_section(methods, baseline, alpha,
                               'cross-dataset, the three held-out test folds pooled')
    marked = [m.name for m in methods if seeds and len(m.honest.seeds) < seeds]
    if marked:
        out += ['', f'**Fewer seeds than asked for** ({seeds}, cross-dataset): '
                + ', '.join(marked) + '.']
    return out


def _paired_section(methods: Sequence[Method], baseline: str, alpha: float,
                    what: str = 'composite') -> List[str]:
    by_name = {m.name: m for m in methods}
    if baseline not in by_name or by_name[baseline].honest is None:
        raise LeaderboardError(f'baseline {baseline!r} has no honest runs ({what}); methods: '
                               f'{sorted(by_name)}')
    base = by_name[baseline].honest
    out = ['', f'## Paired over seeds against {baseline} (honest, {what})', '',
           '| comparison | metric | seeds | mean diff +- std | better in | p (paired t) | '
           'p (sign flip) | verdict |', '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for m in methods:
        if m.name == baseline or m.honest is None:
            continue
        shared = sorted(set(m.honest.seeds) & set(base.seeds))
        if len(shared) < 2:
            out.append(f'| {m.name} - {baseline} | - | {len(shared)} | - | - | - | - | '
                       'not compared: fewer than 2 shared seeds |')
            continue
        cmp = paired_comparison(base, m.honest, alpha)['pooled']
        for k in METRICS:
            c = cmp[k]
            verdict = (('higher' if c['mean'] > 0 else 'lower') + ' beyond the seed spread'
                       if c['beyond_noise'] else 'tie (inside the seed spread)')
            out.append(f"| {m.name} - {baseline} | {k} | {len(c['seeds'])} | "
                       f"{c['mean']:+.3f} +- {c['std']:.3f} | {c['b_better']}/{len(c['seeds'])} "
                       f"| {c['p_t']:.3f} | {c['p_sign_flip']:.3f} | {verdict} |")
    out += ['', f'Verdict rule: two-sided paired t-test over the shared seeds at alpha = {alpha} '
            '(mer_clip.loso.seed_table); a difference it does not reject is a tie.']
    return out


def plot_leaderboard(methods: Sequence[Method], published: Dict[str, Dict], path: str) -> str:
    """Composite UF1 per method: honest (mean, std bar), leaky and published side by side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    rows = leaderboard_rows(methods, published)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(rows)), 3.2))
    for i, (key, label) in enumerate((('honest', 'honest (last epoch)'),
                                      ('leaky', 'leaky (best epoch on test subject)'),
                                      ('published', 'published'))):
        vals = [r['reports']['pooled']['UF1'][key] for r in rows]
        errs = [r['reports']['pooled']['UF1']['honest_std'] or 0 if key == 'honest' else 0
                for r in rows]
        ax.bar(x + (i - 1) * 0.27, [np.nan if v is None else v for v in vals], 0.27,
               yerr=errs if key == 'honest' else None, label=label, capsize=3)
    ax.set_xticks(x)
    ax.set_xticklabels([r['method'] for r in rows], rotation=15, ha='right', fontsize=8)
    ax.set_ylabel('composite UF1')
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc='lower center', ncol=3, bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = ['LeaderboardError', 'Method', 'Run', 'REPORTS', 'CROSS_REPORTS', 'PUBLISHED_FILE',
           'build_methods', 'check_comparable', 'cross_dataset_markdown', 'cross_dataset_rows',
           'leaderboard_markdown', 'leaderboard_rows', 'load_leaderboard_run', 'load_published',
           'plot_leaderboard', 'split_protocols']
