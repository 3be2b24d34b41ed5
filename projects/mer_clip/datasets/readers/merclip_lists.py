"""The MER-CLIP authors' lists (``merclip_official_lists/<dataset>/``) -> canonical records.

Their repository ships per dataset:

* emotion lists ``<class folder>/<sample> [<num_frames>] <label>`` (mmaction rawframe / video
  list lines; ``*_ori.txt`` variants count the frames of the unsampled clips and are not read);
* AU lists ``<class folder>/<sample> <index>``, the 0-based line of ``AUlabel_map.txt``, a sentence
  of Table II action descriptions ("a combination of raising the inner part of the brows and pulling
  the corners of the lips"); SAMM and DFME also ship ``AUlabel_map_short.txt`` with FACS names on
  the same lines ("a combination of Inner Brow Raiser, Lip Corner Puller").

:func:`parse_au_sentence` turns both kinds of sentence back into FACS codes with the package's AU
table in the authors' wording (:mod:`mer_clip.au.descriptions`, vocabulary ``'merclip'``: every
phrase and FACS name the table renders, sided or not). The lists use 30 AUs, 12 more than Table II;
all read as in the table except AU 13, their "Cheek Puffer" / "inflating the cheeks by exerting
pressure from within the mouth" (the 1978 FACS name of AU 13). "left"/"right" (subject's side)
become sides L/R; "X might be present" keeps X and "X or Y" keeps both (as the authors' prompts
keep them, see :mod:`mer_clip.au.codes`). Where a short map exists both maps are parsed and must
agree line by line. A phrase that maps to no AU is an error listing every such line.

Records: ``sample_id`` is the list's sample name, ``frame_dir`` ``<class folder>/<sample>``,
frames ``1..N`` named by ``filename_tmpl`` (default ``img_{:05d}.jpg``), ``apex`` null (the folders
are pre-sampled key frames), ``emotion`` the class folder (raw label: ``happy``, ``other``...),
``aus`` the description sentence. N comes from the lists, else from counting the files in
``data_root/<frame_dir>``, else ``num_frames``. Subjects come from the sample names (SAMM
``SA006_006_1_2`` -> ``006``; CASME II ``CA001_happiness_EP02_01f_001`` -> ``sub01``; CAS(ME)^3
``spNO.001_j_0102`` -> ``spNO.001``; DFME ``sub0008-01h-...`` -> ``sub0008``), DFME splits from the
file names (train / testA / testB -> train / test_a / test_b).
"""
import collections
import functools
import glob
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mer_clip.au.codes import AUCode, sort_codes
from mer_clip.au.descriptions import au_phrases, known_aus
from mer_clip.datasets.annotation import make_record
from mer_clip.datasets.class_schemes import get_class_scheme

from .dfme import split_of_file
from .errors import ReaderError

DATASETS = ('samm', 'casme2', 'casme3', 'dfme')
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')

# Their AU vocabulary: the package's AU table with the authors' wording (mer_clip.au, 'merclip').
VOCABULARY = 'merclip'
_JOIN_RE = re.compile(r',\s*and\s+|,\s*|\s+and\s+|\s+or\s+', re.IGNORECASE)
_PREFIX = 'a combination of '


@functools.lru_cache(maxsize=4)
def _phrase_matcher(descriptions: tuple) -> Tuple[Dict[str, AUCode], re.Pattern]:
    """Phrase -> code and the regex matching any phrase (longest first) of the AU descriptions
    ``descriptions`` (``known_aus(VOCABULARY)``, a cache key: rebuilt when an AU is registered)."""
    phrases = {p: AUCode(au, side) for p, (au, side) in au_phrases(VOCABULARY).items()}
    regex = re.compile(
        '(' + '|'.join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) +
        r')(?![a-z])(?: might be present)?', re.IGNORECASE)
    return phrases, regex


def parse_au_sentence(sentence: str, *, where: str = '') -> List[AUCode]:
    """FACS codes of one AU-map sentence (descriptions or FACS names), sorted."""
    phrases, phrase_re = _phrase_matcher(tuple(known_aus(VOCABULARY).values()))
    text = sentence.strip()
    if text.lower().startswith(_PREFIX):
        text = text[len(_PREFIX):]
    codes, pos = [], 0
    while True:
        m = phrase_re.match(text, pos)
        if m is None:
            loc = f'{where}: ' if where else ''
            raise ReaderError(f'{loc}no AU is known for the phrase {text[pos:]!r} in '
                              f'{sentence.strip()!r}; describe the AU with '
                              f'mer_clip.au.register_au() (the AU table, mer_clip.au.descriptions)')
        codes.append(phrases[m.group(1).lower()])
        pos = m.end()
        if pos == len(text):
            return sort_codes(codes)
        j = _JOIN_RE.match(text, pos)
        if j is None:
            raise ReaderError(f'{where}: unexpected {text[pos:]!r} in {sentence.strip()!r}')
        pos = j.end()


def read_au_map(path: str, short_path: Optional[str] = None) -> List[Tuple[str, List[AUCode]]]:
    """``[(sentence, codes)]`` per line of an AU map; with ``short_path`` the FACS-name map is
    parsed too and every line must give the same codes. Unmappable lines are reported together."""
    with open(path, encoding='utf-8') as f:
        lines = [ln.rstrip('\n') for ln in f]
    short = None
    if short_path is not None:
        with open(short_path, encoding='utf-8') as f:
            short = [ln.rstrip('\n') for ln in f]
        if len(short) != len(lines):
            raise ReaderError(f'{short_path}: {len(short)} lines but {path} has {len(lines)}; '
                              f'the two maps must be line-aligned')
    out, problems = [], []
    for i, line in enumerate(lines):
        try:
            codes = parse_au_sentence(line, where=f'{path}:{i + 1}')
            if short is not None:
                codes_s = parse_au_sentence(short[i], where=f'{short_path}:{i + 1}')
                if codes_s != codes:
                    raise ReaderError(
                        f'{path}:{i + 1} and {short_path}:{i + 1} disagree: {line!r} -> '
                        f'{"+".join(map(str, codes))} but {short[i]!r} -> '
                        f'{"+".join(map(str, codes_s))}')
        except ReaderError as e:
            problems.append(str(e))
            continue
        out.append((line.strip(), codes))
    if problems:
        raise ReaderError(f'{len(problems)} AU map line(s) cannot be mapped to FACS codes:\n  ' +
                          '\n  '.join(problems))
    return out


def subject_of_sample(dataset: str, sample: str) -> str:
    """Subject id from an authors' sample name (see the module docstring)."""
    patterns = {
        'samm': (r'SA(\d{3})_\1_\d+_\d+', lambda m: m.group(1)),
        'casme2': (r'CA0?(\d{2})_[A-Za-z]+_EP\w+_0?\1', lambda m: f'sub{m.group(1)}'),
        'casme3': (r'(spNO\.\d{3})_[A-Za-z]_\d+', lambda m: m.group(1)),
        'dfme': (r'(sub\d{4})-.+', lambda m: m.group(1)),
    }
    pat, fmt = patterns[dataset]
    m = re.fullmatch(pat, sample)
    if m is None:
        raise ReaderError(f'{dataset} sample name {sample!r} does not match {pat!r}; cannot tell '
                          f'its subject')
    return fmt(m)


def read_list_file(path: str) -> List[Tuple[int, str, str, Optional[int], int]]:
    """Lines of an emotion or AU list: ``(line number, class folder, sample, num_frames, label)``
    (``num_frames`` None for two-column lines)."""
    out = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            bad = len(parts) not in (2, 3) or parts[0].count('/') != 1 or not all(
                p.isdigit() for p in parts[1:])
            if bad:
                raise ReaderError(f'{path}, line {n}: {line.strip()!r} is not '
                                  f'"<class>/<sample> [<num_frames>] <label>"')
            cls, sample = parts[0].split('/')
            frames = int(parts[1]) if len(parts) == 3 else None
            out.append((n, cls, sample, frames, int(parts[-1])))
    return out


def _list_files(folder: str, kind: str) -> List[str]:
    if kind == 'emotion':
        files = glob.glob(osp.join(folder, '*emolabel_list.txt'))
    else:
        files = glob.glob(osp.join(folder, '*AU_list.txt')) + glob.glob(
            osp.join(folder, '*AUlabel_list.txt'))
    return sorted(files)


def _count_frames(folder: str) -> Optional[int]:
    if not osp.isdir(folder):
        return None
    return sum(1 for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTS)) or None


def read_merclip_lists(dataset: str, lists_root: str, *,
                       emotion_lists: Optional[Sequence[str]] = None,
                       au_lists: Optional[Sequence[str]] = None,
                       filename_tmpl: str = 'img_{:05d}.jpg', data_root: Optional[str] = None,
                       num_frames: Optional[int] = None) -> List[Dict[str, Any]]:
    """Canonical records of every sample in the authors' lists of one dataset.

    ``emotion_lists`` / ``au_lists`` (file names inside ``<lists_root>/<dataset>``) default to all
    ``*emolabel_list.txt`` / ``*AU_list.txt`` / ``*AUlabel_list.txt`` files; a sample in several
    lists becomes one record (its class folder, frame count and AU index must agree).
    """
    if dataset not in DATASETS:
        raise ValueError(f'unknown dataset {dataset!r}; the authors ship lists for {DATASETS}')
    folder = osp.join(lists_root, dataset)
    if not osp.isdir(folder):
        raise ReaderError(f'{folder}: no such folder; lists_root must hold the authors\' '
                          f'{list(DATASETS)} folders')
    emo_files = ([osp.join(folder, f) for f in emotion_lists] if emotion_lists is not None
                 else _list_files(folder, 'emotion'))
    au_files = ([osp.join(folder, f) for f in au_lists] if au_lists is not None else
                _list_files(folder, 'au'))
    if not emo_files or not au_files:
        raise ReaderError(f'{folder}: no emotion or AU lists found')
    short = osp.join(folder, 'AUlabel_map_short.txt')
    au_map = read_au_map(osp.join(folder, 'AUlabel_map.txt'),
                         short if osp.isfile(short) else None)

    samples: Dict[str, Dict[str, Any]] = collections.OrderedDict()

    def merge(sample, key, value, where):
        info = samples.setdefault(sample, {})
        if value is None:
            return
        if key in info and info[key][0] != value:
            raise ReaderError(f'{where}: {key} {value!r} of {sample} contradicts {info[key][0]!r} '
                              f'from {info[key][1]}')
        info.setdefault(key, (value, where))

    for path in emo_files:
        split = split_of_file(path) if dataset == 'dfme' else None
        for n, cls, sample, frames, _ in read_list_file(path):
            where = f'{path}, line {n}'
            merge(sample, 'class', cls, where)
            merge(sample, 'frames', frames, where)
            merge(sample, 'split', split, where)
    for path in au_files:
        for n, cls, sample, _, index in read_list_file(path):
            where = f'{path}, line {n}'
            if sample not in samples:
                raise ReaderError(f'{where}: sample {sample} is in no emotion list')
            if not 0 <= index < len(au_map):
                raise ReaderError(f'{where}: AU index {index} outside the {len(au_map)} lines '
                                  f'of {folder}/AUlabel_map.txt')
            merge(sample, 'class', cls, where)
            merge(sample, 'au_index', index, where)

    records, no_frames = [], []
    for sample, info in samples.items():
        if 'au_index' not in info:
            raise ReaderError(f'{info["class"][1]}: sample {sample} has no line in the AU lists '
                              f'{[osp.basename(p) for p in au_files]}')
        cls = info['class'][0]
        frame_dir = f'{cls}/{sample}'
        frames = info.get('frames', (None, ))[0]
        if frames is None and data_root is not None:
            frames = _count_frames(osp.join(data_root, frame_dir))
        if frames is None:
            frames = num_frames
        if frames is None:
            no_frames.append(sample)
            continue
        sentence, codes = au_map[info['au_index'][0]]
        records.append(make_record(
            sample_id=sample, subject=subject_of_sample(dataset, sample), emotion=cls,
            aus=sentence, au_list=codes, onset=1, apex=None, offset=frames, total_frames=frames,
            frame_dir=frame_dir, filename_tmpl=filename_tmpl,
            split=info.get('split', (None, ))[0], where=info['class'][1]))
    if no_frames:
        raise ReaderError(
            f'{folder}: {len(no_frames)} sample(s) have no frame count in the lists read '
            f'(e.g. {no_frames[:3]}); pass data_root=<their frame folders> (--data-root) to '
            f'count the frames, or num_frames=N (--num-frames) if every folder holds N frames '
            f'(the authors sample 16).')
    return records


def scheme_counts(records: Sequence[Dict[str, Any]], scheme) -> Dict[str, int]:
    """Samples per class of a class scheme (``None`` key: out of scheme)."""
    scheme = get_class_scheme(scheme)
    counts = collections.Counter(scheme.class_of(r['emotion']) for r in records)
    return {c: counts.get(c, 0) for c in scheme.classes} | ({None: counts[None]}
                                                            if counts.get(None) else {})
