"""Inference helpers for PyTorch image-to-image models (imports torch).

Taught in ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from srlib.arrays import pad_to_multiple
from srlib.data_torch import to_image, to_tensor


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def predict_image(model: torch.nn.Module, image: np.ndarray, multiple: int = 32) -> np.ndarray:
    """Run a same-size model on one HWC RGB image in [0, 1]; returns HWC float32 in [0, 1].

    The image is padded by reflection to a multiple of ``multiple`` (the encoder's total
    downsampling, 32 for MobileNetV2) and the output cropped back, in eval mode, without gradients.
    """
    height, width = image.shape[:2]
    padded = pad_to_multiple(image, multiple)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        output = model(to_tensor(padded)[None].to(model_device(model)))[0]
    model.train(was_training)
    return to_image(output)[:height, :width]


def predict_images(model: torch.nn.Module, images: dict, multiple: int = 32) -> dict:
    """:func:`predict_image` on each ``{name: image}``; returns ``{name: prediction}``."""
    return {name: predict_image(model, image, multiple) for name, image in images.items()}
