"""Emotion class schemes of the MER-CLIP paper (Table III) and the mapping of raw dataset labels.

A scheme turns a dataset's raw emotion label ("Anger", "happy", "Other", ...) into a class index, or
into ``None`` when the sample is outside the scheme (e.g. SAMM "Fear" in the 5-class task). Class order
follows the MER-CLIP authors' label indices (alphabetical for fine-grained schemes; negative,
positive, surprise[, others] for the grouped ones), so their lists and ours agree index for index.

A scheme may map emotions per source dataset (``dataset_members``): the MEGC2019 composite task
(``megc2019_3``) counts fear and sadness as negative in SAMM but leaves them out of CASME II, as the
official composite list does (no CASME II fear / sadness / others sample is in it, SAMM's fear
and sadness samples are; verified in ``tests/datasets/test_composite.py``). The dataset of a record
is its ``dataset`` field, else the file's ``metainfo['dataset_name']``.
"""
import difflib
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

# Spelling variants found in the releases, mapped to one canonical lower-case emotion.
EMOTION_ALIASES: Dict[str, str] = {
    'happy': 'happiness',
    'sad': 'sadness',
    'other': 'others',
    'angry': 'anger',
    'surprised': 'surprise',
    'disgusted': 'disgust',
    'fearful': 'fear',
    'contemptuous': 'contempt',
    'repressed': 'repression',
}

#: Emotions grouped as "negative" in the composite tasks (paper, Sec. IV-A).
NEGATIVE = ('anger', 'contempt', 'disgust', 'fear', 'repression', 'sadness')
POSITIVE = ('happiness', )


def normalize_emotion(raw: str) -> str:
    """Lower-case, strip and un-alias a raw emotion label ("Happy " -> "happiness")."""
    key = str(raw).strip().lower()
    return EMOTION_ALIASES.get(key, key)


@dataclass(frozen=True)
class ClassScheme:
    """Classes of one task and the raw emotions that fall into each."""
    name: str
    classes: Tuple[str, ...]
    # canonical raw emotion -> class name; raw emotions absent here are out of scheme
    members: Dict[str, str] = field(default_factory=dict)
    # source dataset -> its own complete mapping (used instead of ``members`` for that dataset)
    dataset_members: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # every raw emotion the scheme's dataset(s) use (canonical); a label outside these and the
    # members is not a documented out-of-scheme drop but a typo or a foreign label (see is_known)
    known: Tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def is_known(self, raw_emotion: str) -> bool:
        """True for the emotions of the scheme's datasets (in the scheme or documented drops)."""
        emotion = normalize_emotion(raw_emotion)
        return (emotion in self.members or emotion in self.known
                or any(emotion in m for m in self.dataset_members.values()))

    def closest_known(self, raw_emotion: str) -> Optional[str]:
        """The known emotion a mistyped label most likely meant ('hapiness' -> 'happiness')."""
        candidates = set(self.members) | set(self.known)
        candidates.update(*(m.keys() for m in self.dataset_members.values()))
        match = difflib.get_close_matches(normalize_emotion(raw_emotion), sorted(candidates), n=1,
                                          cutoff=0.75)
        return match[0] if match else None

    def class_of(self, raw_emotion: str, dataset: Optional[str] = None) -> Optional[str]:
        members = self.dataset_members.get(dataset, self.members) if dataset else self.members
        return members.get(normalize_emotion(raw_emotion))

    def label_of(self, raw_emotion: str, dataset: Optional[str] = None) -> Optional[int]:
        """Class index of a raw emotion (of ``dataset``, when the scheme maps per dataset), or
        None when the emotion is outside this scheme."""
        cls = self.class_of(raw_emotion, dataset)
        return None if cls is None else self.classes.index(cls)


def _identity(name: str, classes: Sequence[str], known: Sequence[str] = ()) -> ClassScheme:
    return ClassScheme(name, tuple(classes), {c: c for c in classes}, known=tuple(known))


def _grouped(name: str, emotions: Sequence[str], with_others: bool) -> ClassScheme:
    classes = ('negative', 'positive', 'surprise') + (('others', ) if with_others else ())
    members = {}
    for emo in emotions:
        if emo in NEGATIVE:
            members[emo] = 'negative'
        elif emo in POSITIVE:
            members[emo] = 'positive'
        elif emo == 'surprise':
            members[emo] = 'surprise'
        elif emo == 'others' and with_others:
            members[emo] = 'others'
    return ClassScheme(name, classes, members, known=tuple(emotions))


SAMM_EMOTIONS = ('anger', 'contempt', 'disgust', 'fear', 'happiness', 'others', 'sadness',
                 'surprise')
CASME2_EMOTIONS = ('disgust', 'fear', 'happiness', 'others', 'repression', 'sadness', 'surprise')
CASME3_EMOTIONS = ('anger', 'disgust', 'fear', 'happiness', 'others', 'sadness', 'surprise')
DFME_EMOTIONS = ('anger', 'contempt', 'disgust', 'fear', 'happiness', 'sadness', 'surprise')
SMIC_EMOTIONS = ('negative', 'positive', 'surprise')

#: The raw emotions of each dataset's release (canonical form). A scheme knows the emotions of its
#: datasets (``known``): a label outside them (``Hapiness``) is reported as unknown, apart from the
#: documented out-of-scheme drops (SAMM ``Fear`` in samm_5). A new dataset adds its list here and
#: builds its schemes with ``known=known_emotions('name', ...)``.
DATASET_EMOTIONS: Dict[str, Tuple[str, ...]] = {
    'samm': SAMM_EMOTIONS,
    'casme2': CASME2_EMOTIONS,
    'casme3': CASME3_EMOTIONS,
    'dfme': DFME_EMOTIONS,
    'smic': SMIC_EMOTIONS,
}


def known_emotions(*datasets: str) -> Tuple[str, ...]:
    """The union of the raw emotions of ``datasets`` (names of :data:`DATASET_EMOTIONS`)."""
    return tuple(sorted({e for d in datasets for e in DATASET_EMOTIONS[d]}))


MEGC2019_CLASSES = ('negative', 'positive', 'surprise')


def _megc2019() -> ClassScheme:
    """MEGC2019 composite (SMIC-HS + CASME II + SAMM), 3 classes; per-dataset mappings of the
    official list: SMIC as labelled; CASME II negative = disgust + repression; SAMM negative =
    anger + contempt + disgust + fear + sadness; positive = happiness; surprise = surprise. In every
    dataset the class names themselves are labels too: a composite record whose raw emotion is
    unknown (the published derived images give only the 3-class label) or contradicts the official
    list carries the official class."""
    pos_sur = {'happiness': 'positive', 'surprise': 'surprise'}
    classes = {c: c for c in MEGC2019_CLASSES}
    per = {
        'smic': {c: c for c in SMIC_EMOTIONS},
        'casme2': dict(pos_sur, disgust='negative', repression='negative', **classes),
        'samm': dict(pos_sur, **{e: 'negative' for e in ('anger', 'contempt', 'disgust', 'fear',
                                                          'sadness')}, **classes),
    }
    generic = dict(pos_sur, **{e: 'negative' for e in NEGATIVE}, **{c: c for c in SMIC_EMOTIONS})
    return ClassScheme('megc2019_3', MEGC2019_CLASSES, generic, dataset_members=per,
                       known=known_emotions('smic', 'casme2', 'samm'))


CLASS_SCHEMES: Dict[str, ClassScheme] = {
    s.name: s
    for s in (
        # SAMM 5-class (136) and 3-class (133)
        _identity('samm_5', ('anger', 'contempt', 'happiness', 'others', 'surprise'),
                  known_emotions('samm')),
        _grouped('samm_3', SAMM_EMOTIONS, with_others=False),
        # CASME II 5-class (249) and 3-class (156)
        _identity('casme2_5', ('disgust', 'happiness', 'others', 'repression', 'surprise'),
                  known_emotions('casme2')),
        _grouped('casme2_3', CASME2_EMOTIONS, with_others=False),
        # CAS(ME)^3 part A 7-class (860), 4-class (860), 3-class (699)
        _identity('casme3_7', CASME3_EMOTIONS, known_emotions('casme3')),
        _grouped('casme3_4', CASME3_EMOTIONS, with_others=True),
        _grouped('casme3_3', CASME3_EMOTIONS, with_others=False),
        # DFME 7-class
        _identity('dfme_7', DFME_EMOTIONS, known_emotions('dfme')),
        # The synthetic set (tools/data/make_synthetic.py) uses the grouped 3-class task.
        _grouped('synthetic_3', SAMM_EMOTIONS + ('repression', ), with_others=False),
        # MEGC2019 composite: 442 = negative 250, positive 109, surprise 83
        _megc2019(),
    )
}


def get_class_scheme(scheme) -> ClassScheme:
    """Look up a scheme by name, or build one from ``dict(classes=[...], members={raw: class},
    dataset_members={dataset: {raw: class}})`` (optionally ``known=[...]``: further raw emotions of
    the dataset, dropped without a warning)."""
    if isinstance(scheme, ClassScheme):
        return scheme
    if isinstance(scheme, str):
        if scheme not in CLASS_SCHEMES:
            raise KeyError(f'Unknown class_scheme {scheme!r}; choose one of '
                           f'{sorted(CLASS_SCHEMES)} or pass dict(classes=..., members=...).')
        return CLASS_SCHEMES[scheme]
    if isinstance(scheme, dict):
        classes = tuple(scheme['classes'])
        members = {normalize_emotion(k): v for k, v in scheme.get(
            'members', {c: c for c in classes}).items()}
        per = {str(ds): {normalize_emotion(k): v for k, v in m.items()}
               for ds, m in scheme.get('dataset_members', {}).items()}
        bad = sorted(set(members.values()).union(*(m.values() for m in per.values()))
                     - set(classes))
        if bad:
            raise ValueError(f'class_scheme members map to unknown classes {bad}; '
                             f'classes are {list(classes)}')
        known = tuple(normalize_emotion(e) for e in scheme.get('known', ()))
        return ClassScheme(scheme.get('name', 'custom'), classes, members, dataset_members=per,
                           known=known)
    raise TypeError(f'class_scheme must be a name, dict or ClassScheme, got {type(scheme)}')
