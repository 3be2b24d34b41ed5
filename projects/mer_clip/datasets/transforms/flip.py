"""Horizontal flip of a micro-expression clip that also swaps the sides of its action units.

mmaction's :class:`Flip` draws one decision per clip and flips every frame, so the flip is
consistent across frames. A mirrored face shows a left-side AU on the other side, so ``R12``
("right lip corner puller") must become ``L12``; otherwise the AU prompt, rendered later from
``results['au_list']`` by ``GenerateAUPrompt``, would name the wrong side.
"""
from typing import List, Sequence

from mmaction.datasets.transforms import Flip
from mmaction.registry import TRANSFORMS

from mer_clip.au.codes import AUCode, require_codes


def swap_au_sides(au_list: Sequence[AUCode], where: str = '') -> List[AUCode]:
    """L <-> R in a list of :class:`AUCode` s (anything else is a TypeError naming ``where``).

    Returns a new list re-sorted by AU number then side (the canonical order of ``au_list``);
    codes without a side are unchanged.
    """
    return sorted((c.flipped() for c in require_codes(au_list, where)), key=lambda c: c.sort_key)


@TRANSFORMS.register_module()
class MEFlip(Flip):
    """mmaction's :class:`Flip` (same arguments) plus L <-> R in ``results['au_list']`` (AUCodes).

    Only a horizontal flip swaps sides. Place it before ``GenerateAUPrompt``: if an AU prompt has
    already been rendered when a flip with sided AUs happens, this raises instead of leaving a
    prompt that names the wrong side. ``modality`` defaults to ``'RGB'`` when the dataset did not
    set it (mmaction's Flip requires the key). The raw AU string ``aus`` is left as released.
    With named image channels (``results['channels']``), a horizontal flip negates ``u`` and a
    vertical one ``v`` (module docstring).
    """

    def transform(self, results: dict) -> dict:
        results.setdefault('modality', 'RGB')
        results = super().transform(results)
        if results['flip'] and 'channels' in results:
            flow_axis = 'u' if self.direction == 'horizontal' else 'v'
            if flow_axis in results['channels']:
                c = list(results['channels']).index(flow_axis)
                for img in results['imgs']:
                    img[..., c] *= -1  # the mirrored field points the other way
        if not (results['flip'] and self.direction == 'horizontal'):
            return results
        au_list = results.get('au_list')
        if not au_list:
            return results
        where = f"sample {results.get('sample_id', results.get('sample_idx', '?'))}"
        flipped = swap_au_sides(au_list, where)
        if 'au_prompt' in results and any(c.side for c in au_list):
            raise RuntimeError(
                f'{where}: MEFlip flipped a clip with sided AUs after its AU prompt was rendered '
                f'({results["au_prompt"]!r}); put MEFlip before GenerateAUPrompt in the pipeline')
        results['au_list'] = flipped
        return results
