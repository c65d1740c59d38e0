"""Reusable network building blocks shared by task plugins (torch).

- :mod:`cvkit.nn.blocks`: convolution/normalisation blocks and the BatchNorm guard that lets batch size 1 train.
- :mod:`cvkit.nn.encoder_decoder`: dense-prediction networks (U-Net, DeconvNet/SegNet-style encoder-decoder, FCN)
  with any number of output channels: class logits for segmentation, regression maps for depth or normals.
"""
