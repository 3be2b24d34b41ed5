"""Readers of the ME datasets' own annotation releases (and of the MER-CLIP authors' lists) into
canonical records (:mod:`mer_clip.datasets.annotation`); ``tools/data/convert_annotations.py`` is
their command line."""
from .casme2 import read_casme2
from .casme3 import read_casme3
from .dfme import read_dfme
from .errors import ReaderError
from .megc2019_htnet import read_megc2019_htnet
from .merclip_lists import parse_au_sentence, read_merclip_lists, scheme_counts
from .report import ConversionReport
from .samm import read_samm
from .smic import read_smic_e, read_smic_hs

#: source name -> reader, as used by tools/data/convert_annotations.py
READERS = {
    'samm': read_samm,
    'casme2': read_casme2,
    'casme3': read_casme3,
    'dfme': read_dfme,
    'smic': read_smic_hs,
    'smic_e': read_smic_e,
    'merclip_lists': read_merclip_lists,
    'megc2019_htnet': read_megc2019_htnet,
}

__all__ = ['READERS', 'ConversionReport', 'ReaderError', 'parse_au_sentence', 'read_casme2',
           'read_casme3', 'read_dfme', 'read_megc2019_htnet', 'read_merclip_lists', 'read_samm',
           'read_smic_e', 'read_smic_hs', 'scheme_counts']
