"""Loss functions for Keras 3, written with ``keras.ops`` so they run on any backend.

The same losses as ``srlib.torch.losses`` (see its docstrings for the definitions and papers),
giving the same values on the same batch (the tests check it). Keras conventions differ in two
ways: arguments come as ``(y_true, y_pred)``, and images are NHWC. Each loss returns one value
per image and Keras averages them over the batch. Multi-term losses offer ``.metrics()``: one
Keras metric per weighted term, to pass to ``model.compile(metrics=...)``.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (the loss study).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from srlib.kernels import gaussian_window, laplacian_of_gaussian, ms_ssim_weights, operator_norm
from srlib.pretrained import feature_loss_settings
from srlib.keras.pretrained import caffe_preprocess, vgg16_features
from srlib.registry import KERAS_LOSSES

#: srlib/PyTorch layer names -> the Keras VGG16 layer whose output is that ReLU activation.
VGG16_KERAS_LAYER = {"relu1_2": "block1_conv2", "relu2_2": "block2_conv2", "relu3_3": "block3_conv3",
                     "relu4_3": "block4_conv3", "relu5_3": "block5_conv3"}


def _per_image_mean(values):
    return ops.mean(values, axis=tuple(range(1, len(values.shape))))


def _depthwise(images, kernel: np.ndarray):
    """Valid convolution of each channel of NHWC ``images`` with the same 2-D kernel."""
    channels = images.shape[-1]
    weight = np.repeat(kernel.astype(np.float32)[:, :, None, None], channels, axis=2)
    return ops.depthwise_conv(images, ops.convert_to_tensor(weight, dtype=images.dtype), padding="valid")


class MeanSquaredError(keras.losses.Loss):
    def __init__(self, name="mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return _per_image_mean(ops.square(y_pred - y_true))


class MeanAbsoluteError(keras.losses.Loss):
    def __init__(self, name="l1", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return _per_image_mean(ops.abs(y_pred - y_true))


class CharbonnierLoss(keras.losses.Loss):
    def __init__(self, eps: float = 1e-3, name="charbonnier", **kwargs):
        super().__init__(name=name, **kwargs)
        self.eps = eps

    def call(self, y_true, y_pred):
        return _per_image_mean(ops.sqrt(ops.square(y_pred - y_true) + self.eps**2))


class PSNRLoss(keras.losses.Loss):
    def __init__(self, max_value: float = 1.0, eps: float = 1e-10, name="psnr_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.max_value, self.eps = max_value, eps

    def call(self, y_true, y_pred):
        mse = _per_image_mean(ops.square(y_pred - y_true))
        return 10.0 * ops.log10(mse / self.max_value**2 + self.eps)


def _ssim_maps(y_true, y_pred, window: np.ndarray, data_range: float = 1.0):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_p, mu_t = _depthwise(y_pred, window), _depthwise(y_true, window)
    var_p = _depthwise(y_pred * y_pred, window) - ops.square(mu_p)
    var_t = _depthwise(y_true * y_true, window) - ops.square(mu_t)
    covariance = _depthwise(y_pred * y_true, window) - mu_p * mu_t
    contrast_structure = (2 * covariance + c2) / (var_p + var_t + c2)
    luminance = (2 * mu_p * mu_t + c1) / (ops.square(mu_p) + ops.square(mu_t) + c1)
    return luminance * contrast_structure, contrast_structure


class SSIMLoss(keras.losses.Loss):
    def __init__(self, window_size: int = 11, sigma: float = 1.5, name="ssim_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.window = gaussian_window(window_size, sigma)

    def call(self, y_true, y_pred):
        ssim_map, _ = _ssim_maps(y_true, y_pred, self.window)
        return 1.0 - _per_image_mean(ssim_map)


class MSSSIML1Loss(keras.losses.Loss):
    def __init__(self, alpha: float = 0.84, num_scales: int = 3, window_size: int = 11, sigma: float = 1.5,
                 name="ms_ssim_l1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha, self.num_scales = alpha, num_scales
        self.window = gaussian_window(window_size, sigma)
        self.scale_weights = ms_ssim_weights(num_scales)
        self.minimum_size = window_size * 2 ** (num_scales - 1)

    def ms_ssim(self, y_true, y_pred):
        """MS-SSIM per image and channel, shape (N, C)."""
        size = [s for s in y_true.shape[1:3] if s is not None]
        if size and min(size) < self.minimum_size:
            raise ValueError(f"MS-SSIM with {self.num_scales} scales needs images of at least "
                             f"{self.minimum_size}x{self.minimum_size}, got {tuple(y_true.shape[1:3])}")
        result = None
        for scale in range(self.num_scales):
            ssim_map, cs_map = _ssim_maps(y_true, y_pred, self.window)
            last = scale == self.num_scales - 1
            factor = ops.maximum(ops.mean(ssim_map if last else cs_map, axis=(1, 2)), 1e-6)
            factor = ops.power(factor, float(self.scale_weights[scale]))
            result = factor if result is None else result * factor
            if not last:
                y_true = ops.average_pool(y_true, 2, 2, padding="valid")
                y_pred = ops.average_pool(y_pred, 2, 2, padding="valid")
        return result

    def call(self, y_true, y_pred):
        ms_ssim = ops.mean(self.ms_ssim(y_true, y_pred), axis=-1)
        return self.alpha * (1.0 - ms_ssim) + (1.0 - self.alpha) * _per_image_mean(ops.abs(y_pred - y_true))


class HFENLoss(keras.losses.Loss):
    def __init__(self, kernel_size: int = 13, sigma: float = 1.5, name="hfen", **kwargs):
        super().__init__(name=name, **kwargs)
        self.kernel = laplacian_of_gaussian(kernel_size, sigma)
        self.normaliser = operator_norm(self.kernel) ** 2

    def call(self, y_true, y_pred):
        return _per_image_mean(ops.square(_depthwise(y_pred - y_true, self.kernel))) / self.normaliser


class WeightedSum(keras.losses.Loss):
    """``sum(weight * loss)`` over named terms; ``.metrics()`` gives one Keras metric per term."""

    def __init__(self, terms: dict, name="weighted_sum", **kwargs):
        super().__init__(name=name, **kwargs)
        if not terms:
            raise ValueError("WeightedSum needs at least one term")
        self.terms = {key: (loss, float(weight)) for key, (loss, weight) in terms.items()}

    def call(self, y_true, y_pred):
        return sum(weight * loss.call(y_true, y_pred) for loss, weight in self.terms.values())

    def metrics(self) -> list:
        def term(loss, weight, key):
            function = lambda y_true, y_pred: weight * loss.call(y_true, y_pred)  # noqa: E731
            return keras.metrics.MeanMetricWrapper(function, name=key)

        return [term(loss, weight, key) for key, (loss, weight) in self.terms.items()]


def mse_hfen_loss(hfen_weight: float = 10.0, kernel_size: int = 13) -> WeightedSum:
    """``MSE + hfen_weight * HFEN``, the original tutorial's mix."""
    return WeightedSum({"mse": (MeanSquaredError(), 1.0), "hfen": (HFENLoss(kernel_size), hfen_weight)},
                       name="mse_hfen")


def gram_matrix(features):
    """``F^T F / (C H W)`` per image for NHWC features: (N, C, C)."""
    batch, height, width, channels = ops.shape(features)
    flat = ops.reshape(features, (batch, height * width, channels))
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / ops.cast(channels * height * width, features.dtype)


class FeatureLoss(keras.losses.Loss):
    """The perceptual loss of ``srlib.torch.losses.FeatureLoss`` on Keras's VGG16."""

    def __init__(self, layers=("relu3_3", "relu4_3", "relu5_3"), layer_weights=(5.0, 15.0, 2.0),
                 gram_weight: float = 5e3, pixel_weight: float = 1.0, layer_scales: dict | None = None,
                 weights: str | None = "offline", name="feature_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.layers, self.layer_weights, self.layer_scales = feature_loss_settings(layers, layer_weights, layer_scales)
        self.gram_weight, self.pixel_weight = gram_weight, pixel_weight
        vgg = vgg16_features(weights)
        self.network = keras.Model(vgg.input, [vgg.get_layer(VGG16_KERAS_LAYER[layer]).output for layer in layers])
        self.network.trainable = False

    def features(self, images):
        outputs = self.network(caffe_preprocess(images))
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [output * scale for output, scale in zip(outputs, self.layer_scales)]

    def term_values(self, y_true, y_pred) -> dict:
        """Each weighted term, per image: ``pixel``, ``feature_relu3_3``, ..., ``gram_relu3_3``, ..."""
        target_features = [ops.stop_gradient(f) for f in self.features(y_true)]
        prediction_features = self.features(y_pred)
        values = {"pixel": self.pixel_weight * _per_image_mean(ops.abs(y_pred - y_true))}
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            values[f"feature_{layer}"] = weight * _per_image_mean(ops.abs(p - t))
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            values[f"gram_{layer}"] = self.gram_weight * weight**2 * _per_image_mean(
                ops.abs(gram_matrix(p) - gram_matrix(t)))
        return values

    def call(self, y_true, y_pred):
        return sum(self.term_values(y_true, y_pred).values())

    def metrics(self) -> list:
        """One Keras metric per weighted term (each recomputes the features: a cost to know about)."""
        def term(key):
            function = lambda y_true, y_pred: self.term_values(y_true, y_pred)[key]  # noqa: E731
            return keras.metrics.MeanMetricWrapper(function, name=key)

        keys = ["pixel"] + [f"{kind}_{layer}" for kind in ("feature", "gram") for layer in self.layers]
        return [term(key) for key in keys]


def critic_loss(real_logits, fake_logits):
    """Binary cross-entropy on logits, real -> 1, generated -> 0, averaged (a scalar)."""
    real = ops.mean(ops.binary_crossentropy(ops.ones_like(real_logits), real_logits, from_logits=True))
    fake = ops.mean(ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True))
    return (real + fake) / 2


def generator_loss(fake_logits, output, target, pixel_loss=None, adversarial_weight: float = 1.0,
                   pixel_weight: float = 50.0):
    """``adversarial_weight * BCE(fake_logits, 1) + pixel_weight * pixel_loss`` (a scalar)."""
    pixel_loss = pixel_loss if pixel_loss is not None else MeanAbsoluteError()
    adversarial = ops.mean(ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True))
    return adversarial_weight * adversarial + pixel_weight * pixel_loss(target, output)


#: Name -> constructor of every single-image loss, as the loss study uses them (the names and
#: builders of :data:`srlib.registry.KERAS_LOSSES`, written there once for both frameworks).
LOSSES = {name: KERAS_LOSSES.get(name) for name in KERAS_LOSSES.names()}
