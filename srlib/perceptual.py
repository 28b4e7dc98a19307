"""A perceptual distance: how different two images look to VGG-16 (imports torch).

``vgg_distance`` is LPIPS without its learned weights (Zhang et al., 2018, "The Unreasonable
Effectiveness of Deep Features as a Perceptual Metric", the "baseline" variant): VGG-16
activations at ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3``, each unit-normalised across
channels at every position, squared differences averaged over positions and summed over
channels, then averaged over the five layers. 0 for identical images; lower is better; it
rewards sharp, plausible texture that PSNR does not. Uses the offline ImageNet weights.
Taught in ``notebooks/03_unet_perceptual_loss.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from srlib.arrays import check_image, to_float
from srlib.pretrained_torch import VGG16_RELU_INDEX, caffe_preprocess, vgg16_features

_NETWORK = {}


def _network():
    if "vgg" not in _NETWORK:
        _NETWORK["vgg"] = vgg16_features()
    return _NETWORK["vgg"]


def vgg_distance(highres, prediction, crop_border: int = 0) -> float:
    """Perceptual distance between two HWC RGB images (uint8 or float in [0, 1]); see module."""
    a, b = check_image(highres, "highres"), check_image(prediction, "prediction")
    if a.shape != b.shape:
        raise ValueError(f"highres and prediction differ in shape: {a.shape} vs {b.shape}")
    a, b = to_float(a), to_float(b)
    if crop_border:
        a, b = a[crop_border:-crop_border, crop_border:-crop_border], b[crop_border:-crop_border, crop_border:-crop_border]
    if min(a.shape[:2]) < 16:
        raise ValueError(f"vgg_distance needs at least 16x16 pixels, got {a.shape[0]}x{a.shape[1]}")
    batch = torch.from_numpy(np.stack([a, b]).transpose(0, 3, 1, 2).copy())
    network, layers = _network(), sorted(VGG16_RELU_INDEX.values())
    distances = []
    with torch.no_grad():
        x = caffe_preprocess(batch)
        for index, layer in enumerate(network[: layers[-1] + 1]):
            x = layer(x)
            if index in layers:
                unit = x / (x.norm(dim=1, keepdim=True) + 1e-10)
                distances.append(((unit[0] - unit[1]) ** 2).sum(dim=0).mean().item())
    return float(sum(distances) / len(distances))
