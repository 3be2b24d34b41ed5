"""bench/checkpoint_disk.py: parameter counts by part, scaling by count, and a LOSO's peak."""
from torch import nn

from tests.bench.bench_import import load_bench

disk = load_bench('checkpoint_disk')


def test_parameter_counts_split_the_text_tower_and_the_trainable_part():
    model = nn.Module()
    model.head = nn.Linear(3, 2)                      # 8 trainable
    model.norm = nn.BatchNorm1d(2)                    # 4 trainable + 5 buffer elements
    model.text_encoder = nn.Module()
    model.text_encoder.text = nn.Linear(4, 4)         # 20, frozen
    model.text_encoder.text.requires_grad_(False)
    assert disk.parameter_counts(model) == dict(nontext=17, text=20, trainable=12)


def test_sizes_scale_by_count_and_the_peak_counts_finished_and_running_folds():
    tiny = dict(counts=dict(nontext=10, text=5, trainable=8), weights_tensor_bytes=40,
                optimizer_tensor_bytes=64, text_tensor_bytes=20, overhead=3)
    sizes = disk.scaled_sizes(tiny, dict(nontext=100, text=50, trainable=80))
    assert sizes == dict(final=403.0, resume=1043.0, old=1243.0, weights=400.0, optimizer=640.0,
                         text=200.0)
    assert disk.loso_peak(27, sizes) == 26 * 403 + 2 * 1043
    assert disk.loso_peak(27, sizes, 'none') == 2 * 1043
    assert disk.loso_peak(27, sizes, 'old') == 28 * 1243
    assert disk.loso_peak(1, sizes) == 2 * 1043  # DFME: one run, nothing finished
