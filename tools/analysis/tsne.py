"""t-SNE of emotion features (the emotion head's pre-classifier features), as the paper's Fig. 7.

    python tools/analysis/tsne.py CONFIG CHECKPOINT --loso-subject s01 --out tsne_s01.png
    python tools/analysis/tsne.py CONFIG CHECKPOINT --split all --out tsne_all.png

Points are coloured by ground-truth class; misclassified samples are crosses. The features are also
written next to the figure (``.npz``). For a LOSO model, --loso-subject picks its held-out subject
(features of data the model never trained on); --split all embeds every sample.
"""
import argparse
import copy
import os.path as osp

import numpy as np

import mer_clip  # noqa: F401  (stack workarounds, registries)
from mmaction.registry import DATASETS
from mmengine.config import DictAction

from mer_clip.apis import class_names, init_recognizer
from mer_clip.apis.analysis import emotion_features, save_tsne_figure, tsne_embedding


def build_dataset(cfg, loso_subject=None, split=None):
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    if loso_subject is not None:
        ds.update(loso_subject=str(loso_subject), split='test')
    elif split is not None:
        ds.update(loso_subject=None, split=split)
    return DATASETS.build(ds)


def run(config, checkpoint, out, loso_subject=None, split=None, seed=0, cfg_options=None):
    model = init_recognizer(config, checkpoint, cfg_options=cfg_options)
    dataset = build_dataset(model.cfg, loso_subject, split)
    feats = emotion_features(model, dataset)
    points = tsne_embedding(feats['features'], seed=seed)
    np.savez(osp.splitext(out)[0] + '.npz', points=points, **feats)
    what = f'subject {loso_subject}' if loso_subject else f'split {split or "of the test set"}'
    return save_tsne_figure(points, feats['labels'], class_names(model), out, feats['preds'],
                            title=f't-SNE of emotion features ({what}, n={len(points)})')


def main(argv=None):
    p = argparse.ArgumentParser(description='t-SNE of emotion features')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None, help='(none: random weights)')
    p.add_argument('--loso-subject')
    p.add_argument('--split', help="'all', or a fixed split such as test_a")
    p.add_argument('--out', default='tsne.png')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    print('wrote', run(args.config, args.checkpoint, args.out, args.loso_subject, args.split,
                       args.seed, args.cfg_options))


if __name__ == '__main__':
    main()
