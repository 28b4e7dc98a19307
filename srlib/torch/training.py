"""Inference helpers for PyTorch image-to-image models (imports torch).

Taught in ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from srlib.torch.inference import upscale_array


def predict_image(model: torch.nn.Module, image: np.ndarray, multiple: int = 32, precision: str = "auto") -> np.ndarray:
    """Run a same-size model on one HWC RGB image in [0, 1]; returns HWC float32 in [0, 1].

    The image is padded by reflection to a multiple of ``multiple`` (the encoder's total
    downsampling, 32 for MobileNetV2) and the output cropped back, in eval mode, without gradients,
    at ``precision`` (:mod:`srlib.torch.precision`).
    """
    return upscale_array(model, image, scale=1, tile=None, multiple=multiple, precision=precision)


def predict_images(model: torch.nn.Module, images: dict, multiple: int = 32, precision: str = "auto") -> dict:
    """:func:`predict_image` on each ``{name: image}``; returns ``{name: prediction}``."""
    return {name: predict_image(model, image, multiple, precision) for name, image in images.items()}
