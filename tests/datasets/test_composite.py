"""Joint annotations: records namespaced by dataset, paths relocated to one frames root."""
import pytest

from mer_clip.datasets.composite import namespace_record, namespaced_id, relocate_paths


def _rec(sid='sub01_EP02_01f', subject='sub01', emotion='happiness'):
    return dict(sample_id=sid, subject=subject, emotion=emotion, aus='12', au_list=[],
                onset=1, apex=2, offset=3, frame_dir=f'{subject}/EP02_01f',
                filename_tmpl='img{}.jpg')


def test_namespace_record():
    out = namespace_record(_rec(), 'casme2')
    assert (out['dataset'], out['subject'], out['sample_id']) == (
        'casme2', 'casme2_sub01', 'casme2_sub01_EP02_01f')
    assert (out['source_subject'], out['source_sample_id']) == ('sub01', 'sub01_EP02_01f')
    assert out['frame_dir'] == 'sub01/EP02_01f'  # paths untouched
    assert namespaced_id('samm', '006_1_2') == 'samm_006_1_2'
    with pytest.raises(ValueError, match='already namespaced'):
        namespace_record(out, 'casme2')
    with pytest.raises(ValueError, match='lower-case'):
        namespace_record(_rec(), 'CASME II')
    with pytest.raises(ValueError, match="of dataset 'samm'"):
        namespace_record(dict(_rec(), dataset='samm'), 'casme2')
    moved = relocate_paths(_rec(), '/data/casme2/frames', '/data/megc2019')
    assert moved['frame_dir'] == '../casme2/frames/sub01/EP02_01f'
