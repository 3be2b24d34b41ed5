"""How a clip's frame files are named: a ``str.format`` template with one number field.

The canonical annotation names frames by ``frame_dir`` + ``filename_tmpl`` (``'img_{:05d}.jpg'``,
``'006_{:05d}.jpg'``, ``'image{}.bmp'``), the number being the frame number that onset / apex /
offset refer to. :func:`frame_numbers` lists the numbers a template names in a folder (what the
loaders will find); :func:`infer_frame_template` finds the template of a folder of numbered images
(the SMIC-HS release, a user's clip at inference).
"""
import os
import re
import string
from typing import List, Tuple

#: image files a frame folder may hold
FRAME_EXTS = ('.bmp', '.jpg', '.jpeg', '.png', '.tif', '.tiff')
_FRAME_RE = re.compile(r'^(?P<prefix>.*?)(?P<num>\d+)(?P<ext>\.[A-Za-z]+)$')


def template_regex(filename_tmpl: str) -> 're.Pattern':
    """Regex with one group for the frame number of a ``str.format`` template ('006_{:05d}.jpg';
    ``{{`` / ``}}`` are literal braces, as in ``str.format``)."""
    parts = list(string.Formatter().parse(filename_tmpl))  # (literal, field, spec, conversion)
    if sum(field is not None for _, field, _, _ in parts) != 1:
        raise ValueError(f'filename template {filename_tmpl!r} must have exactly one {{}} field')
    return re.compile('^' + ''.join(re.escape(literal) + ('' if field is None else r'(\d+)')
                                    for literal, field, _, _ in parts) + '$')


def frame_numbers(frame_dir: str, filename_tmpl: str) -> List[int]:
    """The sorted frame numbers of the files in ``frame_dir`` that ``filename_tmpl`` names.

    ``'{}'`` and ``'{:05d}'`` both parse ``img_00007.jpg``; only names the template reproduces
    exactly count, so a folder is read the way the loaders will read it.
    """
    rx = template_regex(filename_tmpl)
    out = []
    for name in os.listdir(frame_dir):
        m = rx.match(name)
        if m and filename_tmpl.format(int(m.group(1))) == name:
            out.append(int(m.group(1)))
    return sorted(out)


def infer_frame_template(frame_dir: str) -> Tuple[str, List[int]]:
    """``(filename_tmpl, sorted frame numbers)`` of a folder of numbered images.

    The images must share one name ``<prefix><number><ext>`` and one zero padding (``{:05d}``
    when the numbers are written with leading zeros, else ``{}``); otherwise a ValueError names
    the folder and what differs.
    """
    try:
        names = sorted(os.listdir(frame_dir))
    except OSError:
        names = []
    styles, numbers = set(), []
    for name in names:
        m = _FRAME_RE.match(name)
        if not m or m.group('ext').lower() not in FRAME_EXTS:
            continue
        num = m.group('num')
        padded = len(num) if num.startswith('0') and len(num) > 1 else 0
        styles.add((m.group('prefix'), m.group('ext'), padded))
        numbers.append(int(num))
    if not numbers:
        raise ValueError(f'{frame_dir}: no frame images ({"/".join(FRAME_EXTS)} named '
                         '<prefix><number>)')
    prefixes = {(p, e) for p, e, _ in styles}
    if len(prefixes) > 1:
        raise ValueError(f'{frame_dir}: frame files with different names {sorted(prefixes)}; '
                         'one clip folder must hold one image sequence')
    (prefix, ext), = prefixes
    widths = {w for _, _, w in styles if w}
    if len(widths) > 1:
        raise ValueError(f'{frame_dir}: frame numbers padded to different widths {widths}')
    field = f'{{:0{widths.pop()}d}}' if widths else '{}'
    tmpl = prefix.replace('{', '{{').replace('}', '}}') + field + ext
    return tmpl, sorted(numbers)


__all__ = ['FRAME_EXTS', 'frame_numbers', 'infer_frame_template', 'template_regex']
