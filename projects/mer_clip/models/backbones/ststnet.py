"""STSTNet: Shallow Triple Stream Three-dimensional CNN (Liong, Gan, See, Khor, Huang; FG 2019).

Input: the 28 x 28 onset-to-apex flow image with its three channels u, v and optical strain (the
"three-dimensional" input). Three parallel one-layer streams differ only in width; every stream
sees all three channels (as in the authors' released implementation)::

    stream k (k = 3, 5, 8 filters):  conv 3x3 (padding 2)  -> (B, k, 30, 30)
                                     ReLU, batch norm,
                                     max pool 3x3 / 3 (padding 1) -> (B, k, 10, 10)
                                     dropout 0.5
    concatenate the streams          -> (B, 16, 10, 10)
    average pool 2x2 / 2             -> (B, 16, 5, 5)      <- this backbone's output
    flatten, dense layer             -> (B, num_classes)   <- the head: TSNHead(in_channels=400,
                                                              spatial_type=None, dropout_ratio=0)

Because every stream sees the same input and every layer after the convolution acts per channel,
the three streams are computed as **one** convolution of 3 + 5 + 8 = 16 filters followed by one
ReLU / batch norm / pooling / dropout on the 16 channels: the same function, the same parameters
(480) and the same initial distribution (each filter's fan-in is 3 x 3 x 3 either way), in one
kernel call per layer instead of three (3x faster on CPU at batch 32, where per-call overhead
dominates such small maps). Channels ``stream_slices[k]`` are stream k.

The authors train it with Adam (lr 5e-5, batch 256, 800 epochs, cross-entropy) on the raw 0..255
images. Facts from the paper and the authors' code; this implementation is ours.
"""
from typing import Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


@MODELS.register_module()
class STSTNet(BaseModule):
    """STSTNet backbone (module docstring): (B, C, H, W) flow image -> (B, 16, H', W') map.

    Args:
        in_channels: input channels (3: u, v, strain).
        stream_channels: filters of the parallel streams (3, 5, 8 in the paper).
        kernel_size, padding: of the stream convolutions (3 and 2 as the authors).
        dropout: after each stream's pooling (0.5).

    ``out_channels`` = sum(stream_channels); a 28 x 28 input gives a 5 x 5 map.
    """

    def __init__(self,
                 in_channels: int = 3,
                 stream_channels: Sequence[int] = (3, 5, 8),
                 kernel_size: int = 3,
                 padding: int = 2,
                 dropout: float = 0.5,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not stream_channels or min(stream_channels) < 1:
            raise ValueError(f'STSTNet: stream_channels must be positive, got {stream_channels}')
        self.in_channels = in_channels
        self.stream_channels = tuple(int(c) for c in stream_channels)
        self.out_channels = sum(self.stream_channels)
        ends = [sum(self.stream_channels[:k + 1]) for k in range(len(self.stream_channels))]
        #: the output channels of each stream: (0, 3), (3, 8), (8, 16)
        self.stream_slices = tuple(zip([0] + ends[:-1], ends))
        # the parallel streams, side by side as channel groups of one layer stack
        self.streams = nn.Sequential(
            nn.Conv2d(in_channels, self.out_channels, kernel_size, padding=padding),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(self.out_channels),
            nn.MaxPool2d(kernel_size=3, stride=3, padding=1),
            nn.Dropout(dropout))
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, H, W) -> (B, 16, H', W') (28 -> 5)."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'STSTNet expects (B, {self.in_channels}, H, W) flow images, got '
                             f'{tuple(x.shape)}; use LoadMEImage + FormatShape("NCHW")')
        x = self.streams(x)  # (B, 16, 10, 10): the 3 + 5 + 8 channels of the three streams
        return self.pool(x)  # (B, 16, 5, 5)
