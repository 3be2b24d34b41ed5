"""identify_text_weights: the source (and so the activation) of a text tower, or 'unknown'."""
import pytest
import torch

from mer_clip.models.text.text_weight_source import OPENAI_ARCHIVE_KEYS, identify_text_weights

TOWER = {'token_embedding.weight': torch.zeros(1), 'positional_embedding': torch.zeros(1)}


def test_openai_archive_by_its_integer_entries():
    state = dict(TOWER, **{k: torch.tensor(77) for k in OPENAI_ARCHIVE_KEYS})
    src = identify_text_weights('/w/any_name.pt', state, '')
    assert (src.name, src.quick_gelu, src.activation) == ('OpenAI CLIP archive', True, 'QuickGELU')
    # without them (a re-saved state dict) the keys do not tell
    assert identify_text_weights('/w/any_name.pt', TOWER, '').quick_gelu is None


def test_viclip_by_its_text_and_vision_encoders():
    state = {f'text_encoder.{k}': v for k, v in TOWER.items()}
    state['vision_encoder.conv1.weight'] = torch.zeros(1)
    src = identify_text_weights('/w/ViCLIP-B.pth', state, 'text_encoder.')
    assert (src.name, src.quick_gelu) == ('ViCLIP', True)
    text_only = {k: v for k, v in state.items() if k.startswith('text_encoder.')}
    assert identify_text_weights('/w/x.pth', text_only, 'text_encoder.').quick_gelu is None


@pytest.mark.parametrize('path, name, quick_gelu', [
    ('/hub/models--laion--CLIP-ViT-B-16-laion2B-s34B-b88K/open_clip_pytorch_model.bin',
     'open_clip LAION', False),
    ('/hub/vit_base_patch16_clip_224.openai/open_clip_pytorch_model.safetensors',
     'OpenAI CLIP (converted)', True),
    ('/hub/openai_vs_laion/model.bin', 'unknown', None),  # both named: not knowable
    ('/hub/model.bin', 'unknown', None),
])
def test_open_clip_files_by_their_path(path, name, quick_gelu):
    src = identify_text_weights(path, TOWER, '')
    assert (src.name, src.quick_gelu) == (name, quick_gelu)
