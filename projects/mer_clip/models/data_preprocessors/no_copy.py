"""``ActionDataPreprocessor`` without the per-sample copies that cost a third of a small model's
training step on the CPU.

mmengine's ``BaseDataPreprocessor.cast_data`` moves a batch to the model's device with
``element.to(device)`` for every data sample; ``BaseDataElement.to`` builds a new element and
deep-copies its metainfo even when the tensors are already there. On a GPU that move is needed; on
the CPU the dataloader's batch is already in place, and for the flow models of the MEGC2019
composite (28 x 28 inputs, a network of 1.7 k - 130 k parameters) the copies took 28% of
``train_step`` (measured with cProfile, bench/bench_loso_fold_cost.py). Here, on the CPU, data
samples are passed on as they are (the pipeline builds new ones for every batch, so nothing is
shared between iterations); tensors and everything else go through ``cast_data`` unchanged, and
on any other device the class is ``ActionDataPreprocessor``.
"""
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS
from mmengine.structures import BaseDataElement


@MODELS.register_module()
class NoCopyActionDataPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` that leaves data samples in place on the CPU (module doc)."""

    def cast_data(self, data):
        if isinstance(data, BaseDataElement) and self.device.type == 'cpu':
            return data
        return super().cast_data(data)
