"""Inference on one face-cropped clip: emotion probabilities and AU retrieval.

    model = init_recognizer('configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py',
                            'mer-clip_synthetic-1a2b3c4d.pth')
    inference_me_clip(model, 'clips/006_1_2', onset=5562, apex=5588, offset=5632)
    # {'negative': 0.81, 'positive': 0.05, 'surprise': 0.14}
    retrieve_aus(model, 'clips/006_1_2', top_k=5)
    # [{'aus': [4], 'label': 'AU4', 'description': 'lowering the brows', 'score': 0.42, ...}, ...]

A clip is a folder of frames (``filename_tmpl`` inferred from the file names when not given; frame
numbers as in the names) or a video file (0-based frame indices). Without onset / offset the first
and last frame are used; without apex the frames are spread uniformly between them (as for the
authors' pre-sampled lists).

**AU retrieval.** MER-CLIP aligns the video feature F_g with the sentence of the clip's AUs in a
shared space (``AUTextAlignHead``). Scoring the clip against the description of every single AU
(and, optionally, AU combinations) in that space ranks the AUs the model "sees": each candidate's
text is the AU sentence placed in every enabled template of Table XII, the template embeddings
averaged (prompt ensembling, as CLIP zero-shot); the score is the cosine similarity, ``prob`` the
softmax of the scaled similarities over the candidates.
"""
import itertools
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS

from ..au import DEFAULT_TEMPLATE_INDICES, TABLE_II_AUS, AUCode, au_prompt, get_au_description
from ..datasets.class_schemes import get_class_scheme
from ..datasets.frame_names import frame_numbers, infer_frame_template
from .checkpoint import load_checkpoint_safe

_LOADERS = ('LoadMEFrames', 'LoadMEVideo', 'LoadClipCache')


def init_recognizer(config, checkpoint: Optional[str] = None, device: str = 'cpu',
                    cfg_options: Optional[dict] = None):
    """Build the model of ``config`` (path or Config), load ``checkpoint`` safely, eval mode."""
    if isinstance(config, str) and not osp.isfile(config):
        raise FileNotFoundError(f'{config}: config file not found' + (
            ' (a folder; give a config file such as configs/<name>.py)' if osp.isdir(config)
            else ''))
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint_safe(checkpoint, map_location='cpu', model=model)
    if not getattr(model, 'dataset_meta', None):
        classes = _classes_from_cfg(cfg)
        if classes:
            model.dataset_meta = dict(classes=classes)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _classes_from_cfg(cfg) -> Optional[List[str]]:
    ds = (cfg.get('test_dataloader') or {}).get('dataset', {})
    scheme = ds.get('class_scheme')
    if scheme is None:
        return None
    return list(get_class_scheme(scheme).classes)


def class_names(model) -> List[str]:
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes'):
        return list(meta['classes'])
    num = getattr(model.cls_head, 'num_classes', None)
    return [str(i) for i in range(num)]


# -------------------------------------------------------------------------------------- the clip
def frame_folder_info(folder: str, filename_tmpl: Optional[str] = None) -> dict:
    """``filename_tmpl`` (inferred from the file names when not given) and the first / last frame
    number of a frame folder."""
    if filename_tmpl is None:
        filename_tmpl, numbers = infer_frame_template(folder)
    else:
        numbers = frame_numbers(folder, filename_tmpl)
    if not numbers:
        raise FileNotFoundError(f'{folder}: no file matches filename_tmpl {filename_tmpl!r}')
    return dict(filename_tmpl=filename_tmpl, first=min(numbers), last=max(numbers))


def clip_results(clip: str, onset: Optional[int] = None, apex: Optional[int] = None,
                 offset: Optional[int] = None, filename_tmpl: Optional[str] = None) -> dict:
    """The pipeline input of a frame folder or video file (see the module docstring)."""
    if osp.isdir(clip):
        info = frame_folder_info(clip, filename_tmpl)
        results = dict(frame_dir=clip, filename_tmpl=info['filename_tmpl'])
        first, last = info['first'], info['last']
    elif osp.isfile(clip):
        import decord  # here: needed for video input only, as in mmaction's loaders
        try:
            first, last = 0, len(decord.VideoReader(clip)) - 1
        except (RuntimeError, decord.DECORDError) as e:  # decord: 'Error reading <file>...'
            raise ValueError(f'{clip}: not a readable video file ({e}); give a video (e.g. .mp4, '
                             '.avi) or a folder of face frames') from None
        results = dict(video=clip)
    else:
        raise FileNotFoundError(f'clip {clip} is neither a frame folder nor a video file')
    onset = first if onset is None else int(onset)
    offset = last if offset is None else int(offset)
    if not first <= onset <= offset <= last:
        raise ValueError(f'{clip}: need {first} <= onset ({onset}) <= offset ({offset}) <= {last}')
    if apex is not None and not onset <= int(apex) <= offset:
        raise ValueError(f'{clip}: apex {apex} is outside onset..offset ({onset}..{offset})')
    results.update(onset=onset, apex=None if apex is None else int(apex), offset=offset,
                   sample_id=osp.basename(osp.normpath(clip)), subject='', au_list=[])
    return results


def test_pipeline(model, video: bool):
    """The config's test pipeline with the loader fitting the input and no text transforms."""
    cfg = model.cfg
    pipeline = (cfg.get('test_dataloader') or {}).get('dataset', {}).get('pipeline') or \
        cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError('the config has no test pipeline (test_dataloader.dataset.pipeline)')
    steps = []
    for step in pipeline:
        step = dict(step)
        if step['type'] in _LOADERS:
            step = dict(type='LoadMEVideo' if video else 'LoadMEFrames')
        elif step['type'] == 'GenerateAUPrompt':
            continue  # no AU labels at inference
        steps.append(step)
    return Compose(steps)


def prepare_clip(model, clip: str, **clip_kwargs) -> dict:
    """Pipeline + collate: a batch of one clip, ready for ``model.test_step`` / preprocessor."""
    results = clip_results(clip, **clip_kwargs)
    data = test_pipeline(model, 'video' in results)(results)
    return pseudo_collate([data])


# -------------------------------------------------------------------------------------- emotion
@torch.no_grad()
def inference_me_clip(model, clip: str, onset: Optional[int] = None, apex: Optional[int] = None,
                      offset: Optional[int] = None, filename_tmpl: Optional[str] = None
                      ) -> Dict[str, float]:
    """Emotion probabilities of one clip by class name (class order of the model)."""
    data = prepare_clip(model, clip, onset=onset, apex=apex, offset=offset,
                        filename_tmpl=filename_tmpl)
    sample = model.test_step(data)[0]
    scores = sample.pred_score.detach().float().cpu()
    if (scores < 0).any() or abs(float(scores.sum()) - 1) > 1e-3:
        scores = scores.softmax(-1)  # a head configured with average_clips='score'
    return {c: float(s) for c, s in zip(class_names(model), scores.tolist())}


# ---------------------------------------------------------------------------------- AU retrieval
def au_candidates(aus: Optional[Sequence[int]] = None, max_combination: int = 1) -> List[List[int]]:
    """AU sets to score: every single AU (default: the 18 of Table II), plus all combinations of
    up to ``max_combination`` of them."""
    aus = sorted(set(TABLE_II_AUS if aus is None else (int(a) for a in aus)))
    out = []
    for k in range(1, max(1, max_combination) + 1):
        out += [list(c) for c in itertools.combinations(aus, k)]
    return out


@torch.no_grad()
def au_text_embeddings(model, candidates: Sequence[Sequence[int]],
                       templates: Optional[Sequence[int]] = None) -> torch.Tensor:
    """(num_candidates, E) aligned text embeddings: template-averaged, L2-normalised."""
    templates = list(DEFAULT_TEMPLATE_INDICES if templates is None else templates)
    texts = [au_prompt([AUCode(a) for a in cand], template_idx=t)
             for cand in candidates for t in templates]
    feats = [model.encode_text(texts[i:i + 256]) for i in range(0, len(texts), 256)]
    emb = torch.cat(feats).view(len(candidates), len(templates), -1).mean(1)  # (K, E)
    return torch.nn.functional.normalize(emb, dim=-1)


@torch.no_grad()
def visual_embedding(model, data: dict) -> torch.Tensor:
    """(1, E) aligned visual embedding of a prepared clip (views averaged)."""
    data = model.data_preprocessor(data, False)
    emb = model.encode_video(data['inputs']).mean(0, keepdim=True)  # (1, E)
    return torch.nn.functional.normalize(emb, dim=-1)


@torch.no_grad()
def retrieve_aus(model, clip: str, top_k: int = 5, onset: Optional[int] = None,
                 apex: Optional[int] = None, offset: Optional[int] = None,
                 filename_tmpl: Optional[str] = None, aus: Optional[Sequence[int]] = None,
                 max_combination: int = 1,
                 templates: Optional[Sequence[int]] = None) -> List[Dict[str, Union[str, float]]]:
    """The ``top_k`` AU descriptions (single AUs, or combinations up to ``max_combination``) most
    similar to the clip in the aligned space; see the module docstring."""
    if not getattr(model, 'with_alignment', False):
        raise ValueError('AU retrieval needs a MER-CLIP model with alignment (align_head and '
                         'text_encoder); this model was built without them (align_head=None)')
    data = prepare_clip(model, clip, onset=onset, apex=apex, offset=offset,
                        filename_tmpl=filename_tmpl)
    candidates = au_candidates(aus, max_combination)
    text = au_text_embeddings(model, candidates, templates)  # (K, E)
    visual = visual_embedding(model, data).to(text.device)  # (1, E)
    sim = (visual @ text.t())[0]  # (K,) cosine similarities
    probs = (model.alignment_scale().to(sim.device) * sim).softmax(-1)
    order = torch.argsort(sim, descending=True)[:top_k].tolist()
    out = []
    for i in order:
        cand = candidates[i]
        descs = [get_au_description(a) for a in cand]
        out.append(dict(aus=list(cand), label='+'.join(f'AU{a}' for a in cand),
                        name=' + '.join(d.facs_name for d in descs),
                        description=' and '.join(d.action for d in descs),
                        score=float(sim[i]), prob=float(probs[i])))
    return out


__all__ = ['init_recognizer', 'inference_me_clip', 'retrieve_aus', 'au_candidates',
           'au_text_embeddings', 'visual_embedding', 'prepare_clip', 'clip_results',
           'class_names', 'frame_folder_info']
