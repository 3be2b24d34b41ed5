"""OFF-ApexNet (Gan, Liong, Yau, Huang, Tan; Signal Processing: Image Communication 2019).

Optical Flow Features from the Apex frame: the horizontal (u) and vertical (v) onset-to-apex flow,
28 x 28 each, go through two identical but separate LeNet-like streams whose outputs are joined by
fully connected layers::

    stream (u, then v):  conv 5x5, 6 filters (same padding), ReLU, max pool 2x2  -> (B, 6, 14, 14)
                         conv 5x5, 16 filters (same padding), ReLU, max pool 2x2 -> (B, 16, 7, 7)
    concatenate          -> (B, 32, 7, 7)      <- output='feature_map'
    flatten, FC 1024, ReLU, dropout, FC 1024, ReLU, dropout -> (B, 1024)   <- output='fc' (default)
    output layer         -> (B, num_classes)   <- the head: TSNHead(in_channels=1024,
                                                  spatial_type=None)

Facts from the paper (two streams on u and v, two conv + pooling layers, two FC layers of 1024); the
kernel sizes, filter counts and padding follow the common reimplementations, whose 2.66 M
parameters and 3.9 M multiply-adds agree with this layout. The implementation is ours.
"""
from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS


def _stream(conv_channels: Sequence[int], kernel_size: int) -> nn.Sequential:
    layers, cin = [], 1
    for cout in conv_channels:
        layers += [nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)]
        cin = cout
    return nn.Sequential(*layers)


@MODELS.register_module()
class OFFApexNet(BaseModule):
    """OFF-ApexNet backbone (module docstring).

    Args:
        flow_channels: input channels of u and v (default (0, 1): u, v of a u, v, strain image;
            strain is not used by OFF-ApexNet).
        conv_channels: filters of the two conv layers of each stream (6, 16).
        kernel_size: of the convolutions (5).
        fc_channels: widths of the fully connected layers (1024, 1024).
        dropout: after each fully connected layer (0.5).
        input_size: (h, w) of the flow images (28, 28); sizes the first FC layer.
        output: 'fc' (B, fc_channels[-1]) or 'feature_map' (B, 2 * conv_channels[-1], h/4, w/4)
            (for heads that read positions as tokens; the FC layers are then not built).
    """

    OUTPUTS = ('fc', 'feature_map')

    def __init__(self,
                 flow_channels: Sequence[int] = (0, 1),
                 conv_channels: Sequence[int] = (6, 16),
                 kernel_size: int = 5,
                 fc_channels: Sequence[int] = (1024, 1024),
                 dropout: float = 0.5,
                 input_size: Sequence[int] = (28, 28),
                 output: str = 'fc',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if output not in self.OUTPUTS:
            raise ValueError(f'OFFApexNet: output must be one of {self.OUTPUTS}, got {output!r}')
        if len(flow_channels) != 2:
            raise ValueError(f'OFFApexNet has two streams (u and v): flow_channels must give two '
                             f'channel indices, got {flow_channels}')
        self.flow_channels = tuple(int(c) for c in flow_channels)
        self.output = output
        self.streams = nn.ModuleList([_stream(conv_channels, kernel_size) for _ in range(2)])
        down = 2 ** len(conv_channels)
        h, w = input_size
        if h % down or w % down:
            raise ValueError(f'OFFApexNet: input_size {tuple(input_size)} must be divisible by '
                             f'{down} (one 2x2 pooling per conv layer)')
        self.input_size = (h, w)
        map_channels = 2 * conv_channels[-1]
        if output == 'feature_map':
            self.out_channels = map_channels
            self.fc = None
        else:
            layers, cin = [], map_channels * (h // down) * (w // down)
            for cout in fc_channels:
                layers += [nn.Linear(cin, cout), nn.ReLU(inplace=True), nn.Dropout(dropout)]
                cin = cout
            self.fc = nn.Sequential(*layers)
            self.out_channels = cin

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, h, w) flow image -> (B, 1024) or (B, 32, h/4, w/4)."""
        if x.dim() != 4 or x.size(1) <= max(self.flow_channels):
            raise ValueError(f'OFFApexNet expects (B, C, H, W) flow images with u, v at channels '
                             f'{self.flow_channels}, got {tuple(x.shape)}')
        if self.fc is not None and tuple(x.shape[2:]) != self.input_size:
            raise ValueError(f'OFFApexNet was built for {self.input_size} images (input_size), '
                             f'got {tuple(x.shape[2:])}')
        maps = [stream(x[:, c:c + 1]) for stream, c in zip(self.streams, self.flow_channels)]
        x = torch.cat(maps, dim=1)  # (B, 32, h/4, w/4)
        if self.fc is None:
            return x
        return self.fc(x.flatten(1))  # (B, 1024)
