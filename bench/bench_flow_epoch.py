"""Per-epoch time of the MEGC2019 flow configs on data of the real size, plus parameters and FLOPs.

For each config of ``configs/megc2019/`` an mmengine Runner trains on 442 flow images of 28 x 28
(68 subjects; the composite's class mix 250 / 109 / 83; SMIC-like subjects without AUs) in one
process with one thread, validation off. By default the images are fabricated (the real ones need
the part-2 converter); ``--ann FILE --root DIR`` uses a real annotation. Printed per config: the
time of the Runner build, of every epoch (median and range over the epochs after the first), of
the final checkpoint write, of one test pass over the 442 samples; the parameters and the
multiply-adds per sample of the network that runs at test time (mmengine's counter; the frozen text
tower of MER-CLIP is training only and its prompt features are cached). The configs run
interleaved (epoch by epoch, in turn) so that machine load hits them alike.

    python bench/bench_flow_epoch.py --epochs 6
"""
import argparse
import json
import os
import os.path as osp
import statistics
import tempfile
import time

import numpy as np
import torch

import mer_clip  # noqa: F401
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

from mer_clip.datasets.annotation import dump_annotations, make_record
from mer_clip.datasets.flow_image import encode_flow_image, write_flow_image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCHEDULE = 'flow-28px_1xb32-40e_megc2019-3cls'
CONFIGS = [f'ststnet_{SCHEDULE}', f'off-apexnet_{SCHEDULE}', f'mer-clip_ststnet-{SCHEDULE}',
           f'mer-clip_ststnet-{SCHEDULE}_linear-head', f'mer-clip_ststnet-{SCHEDULE}_wo-align']
CLASSES = ['negative', 'positive', 'surprise']


def fabricate(root: str, n: int = 442, subjects: int = 68, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    labels = rng.permutation([0] * 250 + [1] * 109 + [2] * 83)[:n]
    recs = []
    for i, y in enumerate(labels):
        subj = i % subjects
        field = rng.normal(size=(28, 28, 3))
        field[..., 2] = np.abs(field[..., 2])
        field[6:10, :, 1] += (1, -1, -2)[y]  # a class signal
        name = f'f{i:03d}.png'
        write_flow_image(osp.join(root, name), encode_flow_image(field)[0])
        aus = None if subj >= 44 else ('4', '12', '1+2')[y]  # 24 subjects without AUs (SMIC)
        recs.append(make_record(sample_id=f'x{i}', subject=f's{subj:02d}', emotion=CLASSES[y],
                                aus=aus, au_list=None if aus else [], flow_image=name))
    ann = osp.join(root, 'annotations.json')
    dump_annotations(recs, ann)
    return ann


class EpochTimer(Hook):
    def __init__(self):
        self.times, self._t = [], None

    def before_train_epoch(self, runner):
        self._t = time.perf_counter()

    def after_train_epoch(self, runner):
        self.times.append(time.perf_counter() - self._t)


def complexity(model):
    """Parameters and multiply-adds per sample of what ``predict`` runs (backbone + emotion head)."""
    from mmengine.analysis import get_model_complexity_info

    class TestNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.cls_head = model.backbone, model.cls_head

        def forward(self, x):  # (1, 3, 28, 28) -> logits, as the recognizer computes them
            return model.extract_feat(x.unsqueeze(1), stage='head', test_mode=True)[0]

    test_net = TestNet().eval()
    info = get_model_complexity_info(test_net, inputs=(torch.zeros(1, 3, 28, 28), ),
                                     show_table=False, show_arch=False)
    return dict(flops_per_sample=int(info['flops']),
                params_test_net=sum(p.numel() for p in test_net.parameters()),
                params_total=sum(p.numel() for p in model.parameters()),
                params_frozen=sum(p.numel() for p in model.parameters() if not p.requires_grad))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--ann', help='a real annotation file (default: fabricated images)')
    p.add_argument('--root', help='data_prefix of --ann')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--configs', nargs='+', default=CONFIGS)
    p.add_argument('--json', help='write the results here')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.environ['OMP_NUM_THREADS'] = str(args.threads)
    init_default_scope('mmaction')
    from mmengine.runner import Runner
    tmp = tempfile.mkdtemp(prefix='bench_flow_')
    ann, root = (args.ann, args.root) if args.ann else (fabricate(tmp), tmp)
    runners, timers, results = {}, {}, {}
    for name in args.configs:
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'megc2019', name + '.py'))
        ds = dict(ann_file=ann, data_prefix=dict(img=root),
                  class_scheme=dict(name='megc2019_3', classes=CLASSES), loso_subject=None,
                  split='all')
        for key in ('train_dataloader', 'test_dataloader'):
            cfg[key].dataset.update(ds)
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=args.epochs)
        cfg.work_dir = osp.join(tmp, name)
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
        cfg.log_level = 'WARNING'
        t0 = time.perf_counter()
        runner = Runner.from_cfg(cfg)
        timers[name] = EpochTimer()
        runner.register_hook(timers[name], priority='LOWEST')
        results[name] = dict(build_s=time.perf_counter() - t0, **complexity(runner.model))
        runners[name] = runner
    # interleave: each runner trains one epoch in turn (max_epochs reached one by one)
    for epoch in range(1, args.epochs + 1):
        for name, runner in runners.items():
            runner.train_loop._max_epochs = epoch
            if epoch == 1:
                runner.train()
            else:
                runner.train_loop.run()
    for name, runner in runners.items():
        t0 = time.perf_counter()
        runner.save_checkpoint(runner.work_dir, 'bench.pth')
        results[name]['checkpoint_s'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        runner.test()
        results[name]['test_pass_s'] = time.perf_counter() - t0
        later = timers[name].times[1:]
        results[name].update(epoch_s=timers[name].times, epoch_median_s=statistics.median(later),
                             epoch_min_s=min(later), epoch_max_s=max(later))
    print(f'{len(runners)} configs, 442 samples of 28 x 28, {args.threads} thread(s), '
          f'{args.epochs} epochs each (epochs 2..{args.epochs} summarised)')
    print('| config | params (test net / total / frozen) | MACs per sample | build s | '
          'epoch s median [min, max] | checkpoint s | test pass s |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, r in results.items():
        print(f'| {name} | {r["params_test_net"]:,} / {r["params_total"]:,} / '
              f'{r["params_frozen"]:,} | {r["flops_per_sample"]:,} | {r["build_s"]:.2f} | '
              f'{r["epoch_median_s"]:.3f} [{r["epoch_min_s"]:.3f}, {r["epoch_max_s"]:.3f}] | '
              f'{r["checkpoint_s"]:.3f} | {r["test_pass_s"]:.3f} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
