"""The frozen text tower in checkpoints: recorded by its file and sha256, reloaded from it; a
missing or changed file is a clear error; a tower without a file stays in the checkpoint."""
import os
import shutil

import pytest
import torch
from torch import nn

from mer_clip.engine.frozen_text_tower import (META_KEY, TextTowerFileError,
                                               restore_frozen_text_towers,
                                               strip_frozen_text_towers)
from mer_clip.models.text import CLIPTextEncoder

ARCH = dict(embed_dim=16, context_length=77, vocab_size=49408, width=16, heads=2, layers=1)


class Model(nn.Module):
    def __init__(self, seed, pretrained=None):
        super().__init__()
        torch.manual_seed(seed)
        self.head = nn.Linear(2, 2)
        self.text_encoder = CLIPTextEncoder(arch=ARCH, pretrained=pretrained, quick_gelu=False)


@pytest.fixture
def tower_file(tmp_path):
    """A text tower weight file (open_clip keys under ``text.``) and its tensors."""
    torch.manual_seed(7)
    tower = CLIPTextEncoder(arch=ARCH, quick_gelu=False).text.state_dict()
    path = str(tmp_path / 'text_tower.pth')
    torch.save({f'text.{k}': v for k, v in tower.items()}, path)
    return path, tower


def _checkpoint(model):
    return {'meta': {}, 'state_dict': dict(model.state_dict())}


def test_saved_without_the_tower_and_reloaded_from_its_file(tower_file, tmp_path):
    path, tower = tower_file
    trained = Model(0, pretrained=path)
    trained.text_encoder.init_weights()
    ckpt = _checkpoint(trained)
    assert strip_frozen_text_towers(trained, ckpt) == ['text_encoder']
    assert not [k for k in ckpt['state_dict'] if k.startswith('text_encoder.')]
    record = ckpt['meta'][META_KEY]['text_encoder']
    assert record['file'] == path and record['prefix'] == 'text.' and \
        record['tensors'] == len(tower) and len(record['sha256']) == 64

    fresh = Model(1)  # another random tower, no pretrained file in its config
    notes = restore_frozen_text_towers(fresh, ckpt, 'ckpt.pth')
    assert f'{len(tower)} tensors from its recorded file {path}' in notes[0]
    for key, value in tower.items():
        assert torch.equal(ckpt['state_dict'][f'text_encoder.text.{key}'], value)
        assert torch.equal(fresh.text_encoder.text.state_dict()[key], value)


def test_a_changed_or_missing_file_is_named_with_both_hashes(tower_file, tmp_path):
    path, tower = tower_file
    trained = Model(0, pretrained=path)
    trained.text_encoder.init_weights()
    ckpt = _checkpoint(trained)
    strip_frozen_text_towers(trained, ckpt)
    expected = ckpt['meta'][META_KEY]['text_encoder']['sha256'][:16]
    copy = str(tmp_path / 'copy.pth')
    shutil.copy(path, copy)
    torch.save({f'text.{k}': v + 1 for k, v in tower.items()}, path)  # changed in place
    with pytest.raises(TextTowerFileError) as err:
        restore_frozen_text_towers(Model(1), ckpt, 'ckpt.pth')
    msg = str(err.value)
    assert msg.startswith('ckpt.pth: its frozen text tower (text_encoder) is not saved in it')
    assert f'sha256 {expected}...' in msg and f'{path} has sha256 ' in msg
    assert 'model.text_encoder.pretrained=PATH' in msg
    # the config's pretrained file with the recorded content is used instead
    other = Model(1, pretrained=copy)
    assert copy in restore_frozen_text_towers(other, ckpt, 'ckpt.pth')[0]
    assert torch.equal(other.text_encoder.text.positional_embedding,
                       tower['positional_embedding'])
    os.remove(path)
    with pytest.raises(TextTowerFileError, match='does not exist'):
        restore_frozen_text_towers(Model(1), ckpt, 'ckpt.pth')


def test_a_tower_without_a_file_or_unfrozen_stays_in_the_checkpoint(tower_file):
    random_tower = Model(0)
    ckpt = _checkpoint(random_tower)
    assert strip_frozen_text_towers(random_tower, ckpt) == []
    assert META_KEY not in ckpt['meta'] and 'text_encoder.text.positional_embedding' in \
        ckpt['state_dict']
    trained = Model(0, pretrained=tower_file[0])
    trained.text_encoder.init_weights()
    trained.text_encoder.unfreeze()
    ckpt = _checkpoint(trained)
    assert strip_frozen_text_towers(trained, ckpt) == []
