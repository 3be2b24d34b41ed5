"""Testing one checkpoint from a config, as a library call: what ``tools/test.py`` and every LOSO
fold's test step run."""
from typing import Dict, Optional

from mmengine.runner import Runner

from ..engine.hooks.checkpoint_contents_hook import with_checkpoint_contents_hook


def test(cfg, checkpoint: str, dump: Optional[str] = None) -> Dict[str, float]:
    """Test ``checkpoint`` on ``cfg``'s test set; with ``dump``, the MERMetric evaluators write the
    per-sample predictions there (``sample_id, subject, gt, pred, scores``: what LOSO pools).
    The checkpoint is read by mer_clip's safe reader (:mod:`mer_clip.compat`) and must fill the
    model (:class:`~mer_clip.engine.hooks.CheckpointContentsHook`; ``cfg.allow_partial_load``
    allows a partial load)."""
    cfg.load_from = checkpoint
    if dump:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
            cfg.test_evaluator]
        for ev in evaluators:
            if ev.get('type') == 'MERMetric':
                ev['out_file'] = dump
    runner = Runner.from_cfg(with_checkpoint_contents_hook(cfg))
    return runner.test()


test.__test__ = False  # a library function, not a test for pytest to collect


def format_metrics(metrics: dict) -> str:
    """A small table of the headline numbers (UF1, UAR, ACC) first, then the rest."""
    head = [k for k in metrics if k.split('/')[-1] in ('UF1', 'UAR', 'ACC')
            and not k.split('/')[-2:-1] == ['subject_mean']]
    lines = ['| metric | value |', '| --- | --- |']
    lines += [f'| {k} | {metrics[k]:.4f} |' for k in head]
    lines += [f'| {k} | {v:.4f} |' for k, v in metrics.items()
              if k not in head and isinstance(v, float)]
    return '\n'.join(lines)


__all__ = ['format_metrics', 'test']
