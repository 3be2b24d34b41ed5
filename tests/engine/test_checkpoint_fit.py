"""The load check of a checkpoint: every model tensor filled, or a clear refusal with counts and
key prefixes; a partial load only on request, and then said in the load line."""
import pytest
import torch
from torch import nn

from mer_clip.engine.checkpoint_fit import (PartialCheckpointError, check_checkpoint_fits,
                                            checkpoint_state, key_prefixes)


def _model():
    torch.manual_seed(0)
    return nn.ModuleDict(dict(backbone=nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)),
                              head=nn.Linear(4, 2)))


def test_key_prefixes_count_the_first_two_levels():
    keys = ['backbone.0.weight', 'backbone.0.bias', 'backbone.1.weight', 'head.weight']
    assert key_prefixes(keys) == 'backbone.0 (2), backbone.1 (1), head.weight (1)'
    assert key_prefixes([]) == 'none'


def test_a_full_state_dict_loads_and_is_one_line(tmp_path):
    model = _model()
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'x')
    state = checkpoint_state({'state_dict': {'module.' + k: v for k, v in
                                             model.state_dict().items()}, 'meta': {}})
    report = check_checkpoint_fits(model, state, str(path))
    total = len(model.state_dict())  # 9 tensors, buffers included
    assert report.line().startswith(f'checkpoint: loaded {total}/{total} tensors from {path}')
    assert 'left at init 0: none' in report.line() and 'PARTIAL' not in report.line()


def test_another_layout_is_refused_with_counts_and_prefixes_of_both_sides(tmp_path):
    model = _model()
    own = model.state_dict()
    # 2 tensors under the model's names, the rest under another model's, one of another shape
    state = {'head.weight': own['head.weight'], 'head.bias': own['head.bias'],
             'backbone.0.weight': torch.zeros(5, 3)}
    state.update({f'model.visual.{k}': v for k, v in own.items() if k.startswith('backbone')})
    with pytest.raises(PartialCheckpointError) as err:
        check_checkpoint_fits(model, state, str(tmp_path / 'other.pth'))
    msg = str(err.value)
    assert msg.startswith(f'{tmp_path / "other.pth"}: the checkpoint leaves 7 model tensors '
                          'unloaded (loaded 2/9 model tensors, missing 6, of another shape 1, '
                          'unexpected 7)')
    assert 'lacks, by prefix: backbone.1 (5), backbone.0 (1); of another shape: ' \
           'backbone.0 (1)' in msg
    assert 'fit nowhere, by prefix: model.visual (7)' in msg
    assert '--allow-partial-load' in msg and 'allow_partial_load=True' in msg


def test_a_partial_load_on_request_says_so(tmp_path):
    model = _model()
    path = tmp_path / 'part.pth'
    path.write_bytes(b'x')
    state = {'head.weight': model.state_dict()['head.weight']}
    report = check_checkpoint_fits(model, state, str(path), allow_partial=True)
    assert len(report.loaded) == 1 and len(report.missing) == 8
    assert 'PARTIAL LOAD (allow_partial_load): loaded 1/9 model tensors, missing 8' in \
        report.line()


def test_unused_tensors_alone_do_not_stop_a_complete_load(tmp_path):
    model = _model()
    path = tmp_path / 'more.pth'
    path.write_bytes(b'x')
    state = dict(model.state_dict(), extra=torch.ones(1))
    report = check_checkpoint_fits(model, state, str(path))
    assert report.unused == ['extra'] and 'unused in the file 1: extra' in report.line()
