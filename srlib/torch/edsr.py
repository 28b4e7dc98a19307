"""EDSR-baseline: the residual sub-pixel network of the model zoo's classic x2/x4 models (imports torch).

Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution" (CVPR-W 2017):
a head convolution, ``blocks`` residual blocks (conv-ReLU-conv, no batch norm, output scaled by
``residual_scale``), a body convolution with a long skip, then ``log2(scale)`` sub-pixel
(pixel-shuffle) upsamplers and a tail convolution. The defaults (16 blocks of 64 channels) are the
paper's "baseline": 1.37 M parameters at x2, 1.52 M at x4.

Input: NCHW RGB in [0, 1], the low-resolution image itself (no bicubic pre-upsampling);
output: NCHW RGB, ``scale`` times larger, roughly in [0, 1] (clip before saving).
Trained by :mod:`srlib.train_sr`; shipped in the model zoo (:mod:`srlib.zoo`). Taught in
``notebooks/06_classic_sr.ipynb``, which builds it from scratch and checks it against this one.
"""
from __future__ import annotations

import math

import torch
from torch import nn

#: DIV2K's mean RGB, removed before the network and added back after (as in EDSR).
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


class ResidualBlock(nn.Module):
    """``x + residual_scale * conv(relu(conv(x)))``, no normalisation."""

    def __init__(self, features: int, residual_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(features, features, 3, padding=1))
        self.residual_scale = residual_scale

    def forward(self, x):
        residual = self.body(x)
        # Scaling by 1.0 would be an exact no-op that still costs a pass over the features.
        return x + (residual if self.residual_scale == 1 else self.residual_scale * residual)


class EDSR(nn.Module):
    """EDSR for an integer ``scale`` in {2, 3, 4, 8}; see the module docstring for shapes."""

    def __init__(self, scale: int = 2, features: int = 64, blocks: int = 16, residual_scale: float = 1.0):
        super().__init__()
        if scale not in (2, 3, 4, 8):
            raise ValueError(f"EDSR supports scales 2, 3, 4 and 8, not {scale}")
        self.scale, self.features, self.blocks, self.residual_scale = scale, features, blocks, residual_scale
        self.register_buffer("mean", torch.tensor(DIV2K_MEAN).view(1, 3, 1, 1), persistent=False)
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(features, residual_scale) for _ in range(blocks)],
                                  nn.Conv2d(features, features, 3, padding=1))
        upsampler = []
        for factor in ([3] if scale == 3 else [2] * int(math.log2(scale))):
            upsampler += [nn.Conv2d(features, features * factor ** 2, 3, padding=1), nn.PixelShuffle(factor)]
        self.upsample = nn.Sequential(*upsampler)
        self.tail = nn.Conv2d(features, 3, 3, padding=1)

    def arguments(self) -> dict:
        """The constructor's arguments: ``EDSR(**model.arguments())`` rebuilds the architecture."""
        return {"scale": self.scale, "features": self.features, "blocks": self.blocks,
                "residual_scale": self.residual_scale}

    def receptive_radius(self) -> int:
        """How many low-resolution pixels on each side can influence an output pixel (3x3 convs)."""
        return 2 * self.blocks + 3 + len(self.upsample) // 2

    def forward(self, lowres):
        features = self.head(lowres - self.mean)
        features = features + self.body(features)
        return self.tail(self.upsample(features)) + self.mean


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
