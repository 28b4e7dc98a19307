"""Perceptual distances: how different two images look to a pretrained network (imports torch).

``vgg_distance`` is LPIPS without its learned weights (Zhang et al., 2018, "The Unreasonable
Effectiveness of Deep Features as a Perceptual Metric", the "baseline" variant): VGG-16
activations at ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3``, each unit-normalised across
channels at every position, squared differences averaged over positions and summed over
channels, then averaged over the five layers. 0 for identical images; lower is better; it
rewards sharp, plausible texture that PSNR does not. Uses the offline ImageNet weights.

``mobilenet_distance`` is the same recipe on MobileNetV2 (Sandler et al., 2018), torchvision's
ImageNet weights: the last feature map of each resolution (blocks 1, 3, 6, 13 and 17 of
``features``: 1/2 to 1/32 of the size). Tutorial 3's feature loss is made of VGG-16's
activations, so judging it with ``vgg_distance`` partly scores it on what it was trained for; no
loss here uses MobileNetV2's activations, which makes it the independent judge. (The U-Nets'
encoder *starts* from the same MobileNetV2 weights and is then fine-tuned; the judge keeps the
original ImageNet weights.)
Taught in ``notebooks/03_unet_perceptual_loss.ipynb``.
"""
from __future__ import annotations

import numpy as np
import torch

from srlib.arrays import check_image, to_float
from srlib.torch.pretrained import VGG16_RELU_INDEX, caffe_preprocess, vgg16_features

_NETWORK = {}


#: the blocks of MobileNetV2's ``features`` whose outputs ``mobilenet_distance`` compares
MOBILENET_LAYERS = (1, 3, 6, 13, 17)


def _network():
    if "vgg" not in _NETWORK:
        _NETWORK["vgg"] = vgg16_features()
    return _NETWORK["vgg"]


def _pair(highres, prediction, crop_border: int) -> torch.Tensor:
    """The two images as a (2, 3, H, W) float32 batch in [0, 1], border cropped, shapes checked."""
    a, b = check_image(highres, "highres"), check_image(prediction, "prediction")
    if a.shape != b.shape:
        raise ValueError(f"highres and prediction differ in shape: {a.shape} vs {b.shape}")
    a, b = to_float(a), to_float(b)
    if crop_border:
        a, b = a[crop_border:-crop_border, crop_border:-crop_border], b[crop_border:-crop_border, crop_border:-crop_border]
    if min(a.shape[:2]) < 16:
        raise ValueError(f"perceptual distances need at least 16x16 pixels, got {a.shape[0]}x{a.shape[1]}")
    return torch.from_numpy(np.stack([a, b]).transpose(0, 3, 1, 2).copy())


def _unit_distance(features: torch.Tensor) -> float:
    """LPIPS-baseline distance between the two images of a (2, C, H, W) activation batch."""
    unit = features / (features.norm(dim=1, keepdim=True) + 1e-10)
    return ((unit[0] - unit[1]) ** 2).sum(dim=0).mean().item()


def vgg_distance(highres, prediction, crop_border: int = 0) -> float:
    """Perceptual distance between two HWC RGB images (uint8 or float in [0, 1]) through
    VGG-16; 0 when equal, lower is better. See the module docstring."""
    batch = _pair(highres, prediction, crop_border)
    network, layers = _network(), sorted(VGG16_RELU_INDEX.values())
    distances = []
    with torch.no_grad():
        x = caffe_preprocess(batch)
        for index, layer in enumerate(network[: layers[-1] + 1]):
            x = layer(x)
            if index in layers:
                distances.append(_unit_distance(x))
    return float(sum(distances) / len(distances))


def mobilenet_distance(highres, prediction, crop_border: int = 0) -> float:
    """Perceptual distance between two HWC RGB images (uint8 or float in [0, 1]) through
    MobileNetV2, a network that no loss here uses; 0 when equal, lower is better. See the module."""
    if "mobilenet" not in _NETWORK:
        from srlib.torch.models import ImageNetNormalize
        from srlib.torch.pretrained import mobilenet_v2

        features = mobilenet_v2("offline").features[: max(MOBILENET_LAYERS) + 1].eval()
        _NETWORK["mobilenet"] = (ImageNetNormalize(), features)
    normalise, network = _NETWORK["mobilenet"]
    distances = []
    with torch.no_grad():
        x = normalise(_pair(highres, prediction, crop_border))
        for index, block in enumerate(network):
            x = block(x)
            if index in MOBILENET_LAYERS:
                distances.append(_unit_distance(x))
    return float(sum(distances) / len(distances))
