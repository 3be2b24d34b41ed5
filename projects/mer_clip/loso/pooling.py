"""Pooling the finished folds of a plan into the experiment's reports.

MER reports UF1 / UAR / ACC on the predictions of all LOSO folds *pooled* (MEGC convention). The
folds' ``predictions.csv`` are read, checked (:func:`~.reports.check_pooling`: every sample and
subject counted once, each fold holding only its own subject), joined with each sample's source
dataset for joint annotations, and written as the reports (:mod:`.reports`) with the provenance
of the folds as they were trained (``loso_run.json``), never of the command that asks.
"""
import os.path as osp
import sys
from typing import Dict, List

from ..utils.reproducible import mode_record
from .fold_files import FoldFailed, is_done, prediction_file, read_fold_info
from .folds import FoldList
from .plan import LOSOPlan
from .reports import PoolingError, check_pooling, load_fold_predictions, write_reports
from .summary import LOSOSummary, build_summary, cpu_block


def pool_folds(plan: LOSOPlan, plots: bool = True) -> LOSOSummary:
    """Pool the planned folds' predictions and write predictions.csv, summary.json/.md and the
    figures in the work dir; returns the summary."""
    found = plan.folds_found
    classes = found.classes
    missing = [job.name for job in plan.jobs if not is_done(job)]
    if missing:
        raise FoldFailed(f'cannot report: folds without predictions: {missing}')
    run = plan.recorded_run_state()
    if run is None:
        sys.stderr.write(f'[loso] warning: {plan.work_dir} has no loso_run.json; the report '
                         'takes config, seed and checkpoint rule from this command\n')
        run = plan.run_state()
    rows_by_group, all_rows, fold_info = {}, [], {}
    rows_by_fold, files, per_fold_seed, processes = {}, {}, {}, []
    for job in plan.jobs:
        info = read_fold_info(job.work_dir)
        processes += list(info.get('processes', {}).values())
        per_fold_seed[job.name] = info.get('seed', run['seed'])
        for split in job.tests:
            name = job.name if split is None else split
            files[name] = prediction_file(job, split)
            rows = load_fold_predictions(files[name], name, len(classes))
            if found.sample_datasets:  # per-dataset reports: each sample's source dataset
                for r in rows:
                    r['dataset'] = found.sample_datasets.get(r['sample_id'])
            rows_by_fold[name] = rows
            all_rows += rows
            rows_by_group.setdefault('pooled' if split is None else split, []).extend(rows)
            fold_info[name] = dict(seed=per_fold_seed[job.name],
                                   checkpoint=info.get('checkpoint'),
                                   train_seconds=info.get('seconds', {}).get('train'),
                                   fold_mode=info.get('fold_mode'))
    loso = found.kind == 'loso'
    if loso:
        check_pooling(rows_by_fold, {job.name: job.held_out_subject for job in plan.jobs}, files)
    else:
        for split in rows_by_group:
            check_pooling({split: rows_by_fold[split]}, files=files)
    check_fold_samples(rows_by_fold, found, files)
    summary = build_summary(
        found.kind, rows_by_group, classes, fold_info,
        fold_key=found.fold_key if loso else None,
        protocol_title=found.title if loso else None,
        experiment=osp.splitext(osp.basename(run['config']))[0], config=run['config'],
        config_hash=run['config_hash'], cfg_options=run['cfg_options'],
        fold_cfg_options=run.get('fold_cfg_options'), checkpoint_rule=run['checkpoint_rule'],
        seeds=dict(base=run['seed'], rule='same seed for every fold', per_fold=per_fold_seed),
        cpu=cpu_block(run.get('cpu_mode', mode_record(False)), processes))
    write_reports(plan.work_dir, summary, all_rows, plots=plots)
    return summary


def check_fold_samples(rows_by_fold: Dict[str, List[Dict]], found: FoldList,
                       files: Dict[str, str]) -> None:
    """Each fold's predictions hold exactly the annotation's samples of its held-out fold (its
    test split): a missing or foreign sample is an error naming the file and the ids."""
    for name, rows in rows_by_fold.items():
        expected = set(found.fold_samples(name))
        got = {str(r['sample_id']) for r in rows}
        missing, extra = sorted(expected - got), sorted(got - expected)
        if missing or extra:
            what = '; '.join(
                f'{len(ids)} {kind} ({", ".join(ids[:5])}{", ..." if len(ids) > 5 else ""})'
                for kind, ids in (('missing', missing), ('not in this fold', extra)) if ids)
            raise PoolingError(f'{files[name]}: {len(got & expected)} of the {len(expected)} '
                               f'samples the annotation holds out in {name!r}: {what}. Delete '
                               'the file and run tools/loso.py again to re-test the fold.')


__all__ = ['check_fold_samples', 'pool_folds']
