"""srlib's PyTorch layer (imports torch): models, losses, data loaders, training and inference.

Every module here may import the NumPy core (``srlib.*``) and each other, never ``srlib.keras`` or
the applications (``srlib.zoo``, ``srlib.train_sr``, the command line). This file holds the small
helpers all of them share: the conversions between the core's HWC arrays and PyTorch's CHW
tensors, and the device a run uses by default.

- :mod:`srlib.torch.models`, :mod:`srlib.torch.edsr`: the U-Nets and auto-encoder, EDSR;
- :mod:`srlib.torch.losses`, :mod:`srlib.torch.pretrained`, :mod:`srlib.torch.perceptual`: the losses,
  the offline VGG-16 and MobileNetV2 features, the perceptual distances;
- :mod:`srlib.torch.data`, :mod:`srlib.torch.training`, :mod:`srlib.torch.callbacks`: data loaders,
  a plain training loop, fastai callbacks;
- :mod:`srlib.torch.inference`, :mod:`srlib.torch.precision`: tiled inference, bfloat16 where native;
- :mod:`srlib.torch.checkpoints`, :mod:`srlib.torch.distributed`: resumable state, several processes.
"""
from __future__ import annotations

import numpy as np
import torch


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC (or NHWC) float array in [0, 1] -> CHW (or NCHW) float32 tensor."""
    array = np.ascontiguousarray(image, dtype=np.float32)
    if array.ndim == 3:
        return torch.from_numpy(array.transpose(2, 0, 1).copy())
    if array.ndim == 4:
        return torch.from_numpy(array.transpose(0, 3, 1, 2).copy())
    raise ValueError(f"expected an HWC or NHWC array, got shape {array.shape}")


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """CHW (or NCHW) tensor -> HWC (or NHWC) float32 array, clipped to [0, 1]."""
    array = tensor.detach().float().cpu().clamp(0, 1).numpy()
    if array.ndim == 3:
        return array.transpose(1, 2, 0)
    if array.ndim == 4:
        return array.transpose(0, 2, 3, 1)
    raise ValueError(f"expected a CHW or NCHW tensor, got shape {tuple(tensor.shape)}")


def default_device() -> torch.device:
    """A GPU when PyTorch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
