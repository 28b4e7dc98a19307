"""Loss functions for PyTorch and fastai (imports torch).

Every loss is an ``nn.Module`` called as ``loss(prediction, target)`` on NCHW float tensors in
[0, 1] and returns a scalar (the batch mean), so fastai's ``Learner(loss_func=...)`` takes it.
``srlib.keras.losses`` defines the same losses with ``keras.ops``; the tests check that both
give the same value on the same batch. Kernels come from ``srlib.kernels``, shared with
``srlib.metrics``, so ``1 - SSIMLoss`` equals ``srlib.metrics.ssim`` on the same image.

Losses with several terms (:class:`WeightedSum`, :class:`FeatureLoss`) keep the last batch's
terms in ``.terms``; :func:`loss_term_metrics` turns them into fastai metrics.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (the loss study, Keras side) and
``notebooks/03_unet_perceptual_loss.ipynb`` (the feature loss).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srlib.kernels import gaussian_window, laplacian_of_gaussian, ms_ssim_weights, operator_norm
from srlib.pretrained import feature_loss_settings
from srlib.registry import TORCH_LOSSES
from srlib.torch.pretrained import VGG16_RELU_INDEX, caffe_preprocess, vgg16_features


def _check(prediction: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if prediction.shape != target.shape:
        raise ValueError(f"{name}: prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ")
    if prediction.ndim != 4:
        raise ValueError(f"{name}: expected NCHW tensors, got {prediction.ndim} dimensions")


def _depthwise(images: torch.Tensor, kernel) -> torch.Tensor:
    """Valid (no padding) convolution of each channel with the same 2-D kernel."""
    channels = images.shape[1]
    weight = torch.as_tensor(kernel, dtype=images.dtype, device=images.device)
    weight = weight.expand(channels, 1, *weight.shape[-2:]).contiguous()
    return F.conv2d(images, weight, groups=channels)


class CharbonnierLoss(nn.Module):
    """``mean(sqrt((prediction - target)^2 + eps^2))``: a smooth L1 (Lai et al., LapSRN, 2017)."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, prediction, target):
        _check(prediction, target, "CharbonnierLoss")
        return torch.sqrt((prediction - target) ** 2 + self.eps**2).mean()


class PSNRLoss(nn.Module):
    """Negative PSNR in dB for images in [0, max_value]: ``10 log10(MSE / max^2)``, batch mean.

    Per-image MSE; ``eps`` keeps it finite for identical images (minimum ``10 log10(eps)``).
    """

    def __init__(self, max_value: float = 1.0, eps: float = 1e-10):
        super().__init__()
        self.max_value, self.eps = max_value, eps

    def forward(self, prediction, target):
        _check(prediction, target, "PSNRLoss")
        mse = ((prediction - target) ** 2).mean(dim=(1, 2, 3))
        return (10.0 * torch.log10(mse / self.max_value**2 + self.eps)).mean()


def _ssim_maps(prediction, target, window, data_range: float = 1.0):
    """SSIM and contrast-structure maps (valid region), NCHW."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_p, mu_t = _depthwise(prediction, window), _depthwise(target, window)
    var_p = _depthwise(prediction * prediction, window) - mu_p**2
    var_t = _depthwise(target * target, window) - mu_t**2
    covariance = _depthwise(prediction * target, window) - mu_p * mu_t
    contrast_structure = (2 * covariance + c2) / (var_p + var_t + c2)
    luminance = (2 * mu_p * mu_t + c1) / (mu_p**2 + mu_t**2 + c1)
    return luminance * contrast_structure, contrast_structure


class SSIMLoss(nn.Module):
    """``1 - SSIM`` (Wang et al., 2004): Gaussian window 11x11, sigma 1.5, valid region, data
    range 1, averaged over channels and batch. Needs images of at least 11x11."""

    def __init__(self, window_size: int = 11, sigma: float = 1.5):
        super().__init__()
        self.register_buffer("window", torch.tensor(gaussian_window(window_size, sigma), dtype=torch.float32))

    def forward(self, prediction, target):
        _check(prediction, target, "SSIMLoss")
        ssim_map, _ = _ssim_maps(prediction, target, self.window)
        return 1.0 - ssim_map.mean()


class MSSSIML1Loss(nn.Module):
    """Zhao et al. (2017), "Loss Functions for Image Restoration with Neural Networks":
    ``alpha * (1 - MS-SSIM) + (1 - alpha) * L1``, alpha = 0.84.

    MS-SSIM (Wang et al., 2003) over ``num_scales`` scales (2x2 average pooling between them),
    with the first ``num_scales`` of Wang's weights renormalised: 3 scales by default, so that
    64-pixel training crops work (each scale must keep 11x11 pixels: 44 px for 3 scales).
    Contrast terms are clamped at 1e-6 before the fractional powers. The L1 term is plain
    (Zhao et al. weight it by a Gaussian; most reimplementations do not).
    """

    def __init__(self, alpha: float = 0.84, num_scales: int = 3, window_size: int = 11, sigma: float = 1.5):
        super().__init__()
        self.alpha, self.num_scales = alpha, num_scales
        self.register_buffer("window", torch.tensor(gaussian_window(window_size, sigma), dtype=torch.float32))
        self.register_buffer("scale_weights", torch.tensor(ms_ssim_weights(num_scales), dtype=torch.float32))
        self.minimum_size = window_size * 2 ** (num_scales - 1)

    def ms_ssim(self, prediction, target):
        """MS-SSIM per image and channel, shape (N, C)."""
        if min(prediction.shape[-2:]) < self.minimum_size:
            raise ValueError(f"MS-SSIM with {self.num_scales} scales needs images of at least "
                             f"{self.minimum_size}x{self.minimum_size}, got {tuple(prediction.shape[-2:])}")
        factors = []
        for scale in range(self.num_scales):
            ssim_map, cs_map = _ssim_maps(prediction, target, self.window)
            last = scale == self.num_scales - 1
            factors.append((ssim_map if last else cs_map).mean(dim=(2, 3)).clamp(min=1e-6))
            if not last:
                prediction, target = F.avg_pool2d(prediction, 2), F.avg_pool2d(target, 2)
        stacked = torch.stack(factors, dim=0)  # (scales, N, C)
        return torch.prod(stacked ** self.scale_weights.view(-1, 1, 1), dim=0)

    def forward(self, prediction, target):
        _check(prediction, target, "MSSSIML1Loss")
        ms_ssim = self.ms_ssim(prediction, target).mean()
        return self.alpha * (1.0 - ms_ssim) + (1.0 - self.alpha) * (prediction - target).abs().mean()


class HFENLoss(nn.Module):
    """The original tutorial's high-frequency error loss.

    The difference ``prediction - target`` of each channel is filtered by a Laplacian of Gaussian
    (``kernel_size`` 13 as the original, 15 as Ravishankar and Bresler; sigma 1.5; valid
    convolution), squared and averaged, then divided by the squared operator norm of the kernel
    (about 0.327^2, :func:`srlib.kernels.operator_norm`) so that it is on the scale of the MSE.
    """

    def __init__(self, kernel_size: int = 13, sigma: float = 1.5):
        super().__init__()
        kernel = laplacian_of_gaussian(kernel_size, sigma)
        self.register_buffer("kernel", torch.tensor(kernel, dtype=torch.float32))
        self.normaliser = operator_norm(kernel) ** 2

    def forward(self, prediction, target):
        _check(prediction, target, "HFENLoss")
        return (_depthwise(prediction - target, self.kernel) ** 2).mean() / self.normaliser


class WeightedSum(nn.Module):
    """``sum(weight * loss(prediction, target))`` over named terms; remembers each weighted term.

    ``WeightedSum({"mse": (nn.MSELoss(), 1.0), "hfen": (HFENLoss(), 10.0)})``. After each call
    ``.terms`` maps names to the weighted values (floats) of the last batch; see
    :func:`loss_term_metrics` to log them in fastai.
    """

    def __init__(self, terms: dict):
        super().__init__()
        if not terms:
            raise ValueError("WeightedSum needs at least one term")
        self.losses = nn.ModuleDict({name: loss for name, (loss, _) in terms.items()})
        self.weights = {name: float(weight) for name, (_, weight) in terms.items()}
        self.terms: dict[str, float] = {}

    def forward(self, prediction, target):
        values = {name: self.weights[name] * loss(prediction, target) for name, loss in self.losses.items()}
        self.terms = {name: value.detach().item() for name, value in values.items()}
        return sum(values.values())


def mse_hfen_loss(hfen_weight: float = 10.0, kernel_size: int = 13) -> WeightedSum:
    """``MSE + hfen_weight * HFEN``, the original tutorial's mix (weight 10)."""
    return WeightedSum({"mse": (nn.MSELoss(), 1.0), "hfen": (HFENLoss(kernel_size), hfen_weight)})


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``F F^T / (C H W)`` per image for NCHW features: (N, C, C), the style statistics."""
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


class FeatureLoss(nn.Module):
    """Perceptual loss after Johnson et al. (2016) and fast.ai lesson 7.

    ``pixel_weight * L1(prediction, target)``
    ``+ sum_i w_i * L1(phi_i(prediction), phi_i(target))``
    ``+ sum_i gram_weight * w_i^2 * L1(G(phi_i(prediction)), G(phi_i(target)))``

    where ``phi_i`` are VGG-16 ReLU activations (default ``relu3_3, relu4_3, relu5_3``, the
    outputs before the last three max-pools, weights ``[5, 15, 2]``) and ``G`` the Gram matrix.
    Images (NCHW RGB in [0, 1]) are converted to the weights' Caffe form (BGR, 0-255, mean
    removed), and each layer's activations are multiplied by ``layer_scales[layer]`` before
    comparison: by default ``srlib.pretrained.VGG16_LAYER_SCALE``, calibrated so that each
    layer's feature L1 equals the pixel L1 on crappified photos (raw activations of this
    un-normalised VGG differ by orders of magnitude between layers; lesson 7 used a
    batch-normalised VGG, whose layers are on one scale).
    ``.terms`` holds the weighted terms of the last batch (``pixel``, ``feature_relu3_3``, ...,
    ``gram_relu3_3``, ...).
    """

    def __init__(self, layers=("relu3_3", "relu4_3", "relu5_3"), layer_weights=(5.0, 15.0, 2.0),
                 gram_weight: float = 5e3, pixel_weight: float = 1.0, layer_scales: dict | None = None,
                 weights: str | None = "offline", network: nn.Module | None = None):
        super().__init__()
        self.layers, self.layer_weights, self.layer_scales = feature_loss_settings(layers, layer_weights, layer_scales)
        self.gram_weight, self.pixel_weight = gram_weight, pixel_weight
        network = network if network is not None else vgg16_features(weights)
        self.network = network[: max(VGG16_RELU_INDEX[layer] for layer in layers) + 1]
        self.indices = [VGG16_RELU_INDEX[layer] for layer in layers]
        self.terms: dict[str, float] = {}

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The chosen activations (times their ``layer_scales``) for NCHW RGB images in [0, 1]."""
        outputs, x = [], caffe_preprocess(images)
        for index, layer in enumerate(self.network):
            x = layer(x)
            if index in self.indices:
                outputs.append(x * self.layer_scales[self.indices.index(index)])
        return outputs

    def forward(self, prediction, target):
        _check(prediction, target, "FeatureLoss")
        with torch.no_grad():
            target_features = self.features(target)
        prediction_features = self.features(prediction)
        values = {"pixel": self.pixel_weight * F.l1_loss(prediction, target)}
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            values[f"feature_{layer}"] = weight * F.l1_loss(p, t)
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            values[f"gram_{layer}"] = self.gram_weight * weight**2 * F.l1_loss(gram_matrix(p), gram_matrix(t))
        self.terms = {name: value.detach().item() for name, value in values.items()}
        return sum(values.values())


def critic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The critic's binary cross-entropy on logits: real -> 1, generated -> 0, averaged.

    Same signature as fastai's GAN critic loss (``GANLearner(crit_loss_func=critic_loss)``).
    """
    real = F.binary_cross_entropy_with_logits(real_logits.flatten(), torch.ones_like(real_logits.flatten()))
    fake = F.binary_cross_entropy_with_logits(fake_logits.flatten(), torch.zeros_like(fake_logits.flatten()))
    return (real + fake) / 2


class GeneratorLoss(nn.Module):
    """``adversarial_weight * BCE(critic(output), 1) + pixel_weight * pixel_loss(output, target)``.

    Called as fastai's GAN generator loss: ``loss(fake_logits, output, target)``. The defaults
    (1, 50) are lesson 7's ``weights_gen``.
    """

    def __init__(self, pixel_loss: nn.Module | None = None, adversarial_weight: float = 1.0,
                 pixel_weight: float = 50.0):
        super().__init__()
        self.pixel_loss = pixel_loss if pixel_loss is not None else nn.L1Loss()
        self.adversarial_weight, self.pixel_weight = adversarial_weight, pixel_weight

    def forward(self, fake_logits, output, target):
        flat = fake_logits.flatten()
        adversarial = F.binary_cross_entropy_with_logits(flat, torch.ones_like(flat))
        return self.adversarial_weight * adversarial + self.pixel_weight * self.pixel_loss(output, target)


def loss_term_metrics(loss) -> list:
    """fastai metrics that report each term of a multi-term loss (anything with ``.terms``).

    ``Learner(..., loss_func=loss, metrics=loss_term_metrics(loss))`` shows ``mse``, ``hfen``...
    (batch-size-weighted means over the validation set) next to the total.
    """
    from fastai.learner import Metric
    from fastai.torch_core import find_bs

    class LossTerm(Metric):
        def __init__(self, term):
            self.term = term
            self.reset()

        def reset(self):
            self.total, self.count = 0.0, 0

        def accumulate(self, learn):
            size = find_bs(learn.yb)
            self.total += learn.loss_func.terms[self.term] * size
            self.count += size

        @property
        def value(self):
            return self.total / self.count if self.count else None

        @property
        def name(self):
            return self.term

    if isinstance(loss, WeightedSum):
        names = list(loss.losses)
    elif isinstance(loss, FeatureLoss):
        names = ["pixel"] + [f"{kind}_{layer}" for kind in ("feature", "gram") for layer in loss.layers]
    else:
        raise ValueError(f"{type(loss).__name__} has no named terms")
    return [LossTerm(name) for name in names]


#: Name -> constructor of every single-image loss, as the loss study uses them (the names and
#: builders of :data:`srlib.registry.TORCH_LOSSES`, written there once for both frameworks).
LOSSES = {name: TORCH_LOSSES.get(name) for name in TORCH_LOSSES.names()}
