"""Building blocks shared by the segmentation models, and the BatchNorm guard that makes batch size 1 train.

They live in the core (:mod:`cvkit.nn.blocks`) so that other dense-prediction tasks share them; re-exported here.
"""

from __future__ import annotations

from cvkit.nn.blocks import SafeBatchNorm2d, conv_norm_act, double_conv, guard_batchnorm, norm_layer, resize_to

__all__ = ["SafeBatchNorm2d", "conv_norm_act", "double_conv", "guard_batchnorm", "norm_layer", "resize_to"]
