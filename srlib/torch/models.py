"""PyTorch/fastai model builders (imports torch and fastai).

Taught in ``notebooks/02_unet_pixel_loss.ipynb``; the GAN tutorial reuses the same generator.
"""
from __future__ import annotations

import torch
from torch import nn

from srlib.torch.pretrained import mobilenet_v2_encoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetNormalize(nn.Module):
    """RGB in [0, 1] -> ImageNet-normalised, as torchvision's pretrained encoders expect."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images):
        return (images - self.mean) / self.std


def mobilenet_v2_arch(weights: str | None = "offline"):
    """An ``arch`` for fastai's ``unet_learner(..., cut=-1)``: MobileNetV2 blocks behind a
    normalisation layer, so the model itself takes RGB in [0, 1] (targets stay in [0, 1] too).
    ``pretrained=False`` gives random weights."""

    def arch(pretrained: bool = True):
        encoder = mobilenet_v2_encoder(weights if pretrained else None)
        return nn.Sequential(ImageNetNormalize(), *encoder.children())

    return arch


class ResidualUnet(nn.Module):
    """``input + unet(input)``: the U-Net learns only the correction to its (upsampled) input.

    Restoration starts from "copy the input" instead of from noise, which matters most in short
    CPU runs. ``self.unet`` is fastai's DynamicUnet; its first child is the encoder.
    """

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, images):
        return images + self.unet(images)


def _residual_split(model: ResidualUnet):
    from fastai.torch_core import params

    return [params(model.unet[0]), params(model.unet[1:])]


def unet_learner(dls, loss_func, metrics=None, encoder_weights: str | None = "offline", self_attention: bool = False,
                 blur: bool = True, weight_norm: bool = True, residual: bool = True, path=None,
                 weight_decay: float = 1e-3):
    """fastai's ``unet_learner`` on the offline MobileNetV2 encoder, lesson 7's settings.

    Input and output: NCHW RGB in [0, 1] of the same size (bicubic-upsample low-resolution
    inputs first). ``blur`` (fastai's pixel-shuffle blur against checkerboard artefacts),
    ``weight_norm`` (``NormType.Weight`` in the decoder), ``self_attention`` (a SAGAN layer in
    the decoder) are lesson 7's options. With ``residual`` (default) the model is
    :class:`ResidualUnet`, input plus the U-Net's output; without, the U-Net's output goes through
    ``sigmoid_range(-0.05, 1.05)`` as in lesson 7. The encoder starts frozen
    (``learn.unfreeze()`` trains it too). About 7.8 M parameters.

    To use torchvision's resnet34 instead, when its weights are on disk:
    ``fastai.vision.all.unet_learner(dls, torchvision.models.resnet34, n_out=3, ...)`` with
    ImageNet normalisation added to ``dls``.
    """
    import fastai.callback.progress  # noqa: F401 (Learner.no_bar, as fastai.vision.all would give)
    import fastai.callback.schedule  # noqa: F401 (Learner.fit_one_cycle, lr_find)
    from fastai.layers import NormType
    from fastai.vision.learner import unet_learner as fastai_unet_learner

    learn = fastai_unet_learner(dls, mobilenet_v2_arch(encoder_weights), normalize=False, n_out=3,
                                pretrained=encoder_weights is not None, cut=-1, loss_func=loss_func,
                                metrics=metrics or [], blur=blur, self_attention=self_attention,
                                norm_type=NormType.Weight if weight_norm else NormType.Batch,
                                y_range=None if residual else (-0.05, 1.05), wd=weight_decay, path=path)
    if residual:
        # Same parameter tensors, wrapped: the optimizer fastai made stays valid; later ones
        # split encoder / decoder through the wrapper.
        learn.model = ResidualUnet(learn.model)
        learn.splitter = _residual_split
    return learn


def build_unet(self_attention: bool = False, blur: bool = True, weight_norm: bool = True, residual: bool = True,
               encoder_weights: str | None = None, img_size: tuple[int, int] = (64, 64)) -> nn.Module:
    """The model of :func:`unet_learner` without data or a Learner (to load saved weights into).

    Same architecture and parameter names as ``unet_learner(...).model`` with the same options;
    the encoder starts random unless ``encoder_weights`` says otherwise (load weights after).
    """
    from fastai.layers import NormType
    from fastai.vision.learner import create_unet_model

    model = create_unet_model(mobilenet_v2_arch(encoder_weights), 3, img_size, pretrained=encoder_weights is not None,
                              cut=-1, blur=blur, self_attention=self_attention,
                              norm_type=NormType.Weight if weight_norm else NormType.Batch,
                              y_range=None if residual else (-0.05, 1.05))
    return ResidualUnet(model) if residual else model


class Autoencoder(nn.Module):
    """PyTorch twin of :func:`srlib.keras.models.build_autoencoder` (tutorial 1's network), so the
    zoo and ``srlib upscale`` can serve it; :func:`srlib.export.keras_autoencoder_to_torch` copies the weights.

    Input and output: NCHW RGB in [0, 1], height and width divisible by 4. Same layers, in the same
    order: two 3x3 ReLU convolutions of ``filters[0]``, max-pool, two of ``filters[1]``, max-pool,
    one of ``filters[2]``; nearest-neighbour upsampling, two of ``filters[1]`` added to the second
    stage, upsampling, two of ``filters[0]`` added to the first, a 3x3 convolution to 3 channels
    (ReLU, or linear and added to the input when ``residual``). Dropout is left out: at inference
    Keras's is the identity.
    """

    def __init__(self, filters=(64, 128, 256), residual: bool = False):
        super().__init__()
        small, medium, large = filters
        self.residual = residual
        widths = [(3, small), (small, small), (small, medium), (medium, medium), (medium, large),
                  (large, medium), (medium, medium), (medium, small), (small, small), (small, 3)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in widths)

    def forward(self, images):
        def conv(index, x):  # the index-th 3x3 convolution, then ReLU
            return torch.relu(self.convs[index](x))

        def pool(x):
            return nn.functional.max_pool2d(x, 2, ceil_mode=True)  # Keras's MaxPooling2D(padding="same")

        def upsample(x):
            return nn.functional.interpolate(x, scale_factor=2, mode="nearest")  # Keras's UpSampling2D

        stage1 = conv(1, conv(0, images))
        stage2 = conv(3, conv(2, pool(stage1)))
        x = conv(4, pool(stage2))
        x = stage2 + conv(6, conv(5, upsample(x)))
        x = conv(8, conv(7, upsample(x))) + stage1
        detail = self.convs[9](x)
        return images + detail if self.residual else torch.relu(detail)
