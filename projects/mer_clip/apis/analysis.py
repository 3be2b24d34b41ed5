"""Analysis of a trained model: emotion features for t-SNE (paper Fig. 7), Grad-CAM (Fig. 6).

Grad-CAM: mmaction's ``mmaction.utils.GradCAM`` accepts only ``Recognizer2D`` / ``Recognizer3D`` and
expects a (B, C', T, H, W) convolutional map; MER-CLIP is a ``BaseRecognizer`` whose UniFormerV2
backbone yields token sequences. :func:`grad_cam` therefore implements the same computation
(Selvaraju et al.: channel weights = gradients averaged over positions, ReLU of the weighted sum of
activations, trilinear upsampling, min-max normalisation) on the output of the last local UniBlock,
reshaped from (1 + H'W', B*T', C) to (B, T', H', W', C); a (B, C, T, H, W) map also works.
"""
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate


def _default_layer(model):
    backbone = model.backbone
    if hasattr(backbone, 'transformer') and hasattr(backbone.transformer, 'resblocks'):
        return backbone.transformer.resblocks[-1]  # last local UniBlock of UniFormerV2
    raise ValueError('no default Grad-CAM layer for this backbone; pass layer=<module>')


def _as_btHWc(act: torch.Tensor, batch: int, spatial: Optional[int] = None) -> torch.Tensor:
    """Activation -> (B, T', H', W', C)."""
    if act.dim() == 5:  # (B, C, T, H, W)
        return act.permute(0, 2, 3, 4, 1)
    if act.dim() == 3:  # (1 + H'W', B*T', C) token sequence with a class token first
        tokens = act[1:]  # (H'W', B*T', C)
        hw, bt, c = tokens.shape
        side = int(round(hw ** 0.5))
        if side * side != hw:
            raise ValueError(f'cannot reshape {hw} tokens into a square grid')
        return tokens.permute(1, 0, 2).reshape(batch, bt // batch, side, side, c)
    raise ValueError(f'unsupported activation shape {tuple(act.shape)} for Grad-CAM')


def grad_cam(model, data: dict, target: Optional[int] = None, layer=None) -> Dict:
    """Grad-CAM of one prepared clip (``prepare_clip`` output).

    Returns dict(cam=(T, H, W) array in [0, 1] at input resolution, frames=(T, H, W, 3) uint8 input
    frames, target=class index, scores=softmax probabilities, apex_index=int or None).
    """
    layer = layer or _default_layer(model)
    store = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.__setitem__('act', o))
    try:
        raw = data['inputs'][0]  # (V, C, T, H, W) before normalisation
        batch = model.data_preprocessor(data, False)
        inputs = batch['inputs']
        with torch.enable_grad():
            logits, _ = model.extract_feat(inputs, stage='head')  # (V, K)
            logits = logits.float().mean(0, keepdim=True)  # views averaged
            cls = int(logits.argmax(-1)) if target is None else int(target)
            act = store['act']
            grads = torch.autograd.grad(logits[0, cls], act)[0]
    finally:
        handle.remove()
    n = inputs.shape[0] * (inputs.shape[1] if inputs.dim() == 6 else 1)
    a = _as_btHWc(act.detach().float(), n)  # (B, T', H', W', C)
    g = _as_btHWc(grads.float(), n)
    weights = g.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1, C)
    cam = F.relu((a * weights).sum(-1))  # (B, T', H', W')
    t, h, w = raw.shape[-3:]
    cam = F.interpolate(cam.unsqueeze(1), size=(t, h, w), mode='trilinear',
                        align_corners=False)[:, 0].mean(0)  # (T, H, W)
    cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-12)
    frames = raw[0].permute(1, 2, 3, 0).float().clamp(0, 255).to(torch.uint8).numpy()  # T,H,W,3
    meta = data['data_samples'][0].metainfo
    return dict(cam=cam.numpy(), frames=frames, target=cls,
                scores=logits.softmax(-1)[0].tolist(), apex_index=meta.get('apex_index'),
                onset_index=meta.get('onset_index', 0))


def save_grad_cam_figure(result: Dict, out_file: str, class_names: List[str], title: str = '',
                         alpha: float = 0.5) -> str:
    """Onset frame, apex frame and apex frame with the Grad-CAM heat map (as the paper's Fig. 6)."""
    import matplotlib  # here: figures only, and pyplot takes ~0.8 s to import
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    frames, cam = result['frames'], result['cam']
    apex = result['apex_index'] if result['apex_index'] is not None else len(frames) // 2
    onset = result.get('onset_index') or 0
    heat = plt.get_cmap('jet')(cam[apex])[..., :3]
    blend = (1 - alpha) * frames[apex] / 255.0 + alpha * heat
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, img, name in zip(axes, (frames[onset], frames[apex], blend),
                             (f'onset (frame {onset})', f'apex (frame {apex})', 'apex + Grad-CAM')):
        ax.imshow(img)
        ax.set_title(name, fontsize=9)
        ax.axis('off')
    cls = class_names[result['target']]
    fig.suptitle(title or f"Grad-CAM for '{cls}' (p={result['scores'][result['target']]:.2f})",
                 fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return out_file


@torch.no_grad()
def emotion_features(model, dataset, batch_size: int = 8) -> Dict[str, np.ndarray]:
    """Pre-classifier features of the emotion head (input of ``cls_head.fc_cls``) for a dataset.

    Returns dict(features=(N, D), labels=(N,), preds=(N,), sample_ids=(N,)).
    """
    fc = getattr(model.cls_head, 'fc_cls', None)
    if fc is None:
        raise ValueError(f'{type(model.cls_head).__name__} has no fc_cls to read features from')
    store: List[torch.Tensor] = []
    handle = fc.register_forward_pre_hook(lambda m, args: store.append(args[0].detach().float()))
    labels, preds, ids = [], [], []
    try:
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(len(dataset), start + batch_size))]
            out = model.test_step(pseudo_collate(items))
            for item, sample in zip(items, out):
                labels.append(int(sample.gt_label.item()))
                preds.append(int(sample.pred_score.argmax()))
                ids.append(str(sample.metainfo.get('sample_id', len(ids))))
    finally:
        handle.remove()
    feats = torch.cat(store).cpu().numpy()
    if feats.shape[0] != len(labels):  # several views per sample: average them
        feats = feats.reshape(len(labels), -1, feats.shape[-1]).mean(1)
    return dict(features=feats, labels=np.array(labels), preds=np.array(preds),
                sample_ids=np.array(ids))


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """(N, 2) t-SNE of the features (perplexity capped for small N)."""
    from sklearn.manifold import TSNE  # here: t-SNE only, and scikit-learn takes ~2 s to import
    n = features.shape[0]
    if n < 3:
        raise ValueError(f't-SNE needs at least 3 samples, got {n}')
    perplexity = min(perplexity, max(1.0, (n - 1) / 3.0))
    return TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed).fit_transform(
        features)


def save_tsne_figure(points: np.ndarray, labels: np.ndarray, class_names: List[str],
                     out_file: str, preds: Optional[np.ndarray] = None, title: str = '') -> str:
    """Scatter plot coloured by ground-truth class (misclassified samples drawn as crosses)."""
    import matplotlib  # here: figures only, and pyplot takes ~0.8 s to import
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 5))
    colors = plt.get_cmap('tab10')
    for k, name in enumerate(class_names):
        sel = labels == k
        if not sel.any():
            continue
        ok = sel if preds is None else sel & (preds == labels)
        ax.scatter(points[ok, 0], points[ok, 1], s=22, color=colors(k % 10), label=name)
        if preds is not None:
            bad = sel & (preds != labels)
            ax.scatter(points[bad, 0], points[bad, 1], s=30, color=colors(k % 10), marker='x')
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=8, title='true class' + ('' if preds is None else ' (x = misclassified)'),
              title_fontsize=8)
    ax.set_title(title or 't-SNE of emotion features', fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return out_file
