"""What each PyTorch layer class does to positions: the one table the receptive-field tracer, the layer
tables and the cost estimate read.

- *window* layers compute each output position from a window of input positions
  (convolutions, locally connected layers, pooling): the receptive field grows;
- *pointwise* layers act on each position alone (activations, dropout, batch
  norm): the field stays as it was;
- anything else (flatten, linear) ends the spatial part of a network.

The layer-list language (``core.nets.layers.LAYER_KINDS``) builds these classes; a
network from elsewhere (torchvision) is read through the same table.
"""

from __future__ import annotations

from torch import nn

from core.nets.local import LocallyConnected1d, LocallyConnected2d

CONV = (nn.Conv1d, nn.Conv2d)
LOCAL = (LocallyConnected1d, LocallyConnected2d)  # a convolution's windows without the sharing: the same field
POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.LPPool1d, nn.LPPool2d)
ADAPTIVE_POOL = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
WINDOW = CONV + LOCAL + POOL + ADAPTIVE_POOL
# batch norm at inference scales each position alone; group and layer norm are not in the list: they pool
# statistics over positions
POINTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid,
             nn.Mish, nn.Softplus, nn.Tanh, nn.Sigmoid, nn.Dropout, nn.Identity, nn.BatchNorm1d, nn.BatchNorm2d)
