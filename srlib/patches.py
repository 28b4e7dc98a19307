"""Paired (lowres, highres) training patches, in plain NumPy, for every framework.

:class:`PairedPatches` degrades each high-resolution photo once, then serves aligned random
crops with flips and 90-degree rotations. ``srlib.torch.data`` wraps it for PyTorch/fastai and
``srlib.keras.data`` for Keras, so both frameworks see exactly the same pairs.

Shapes: ``pairs[i]`` is ``(lowres, highres)``, HWC float32 in [0, 1]; ``highres`` is
``patch_size`` square, ``lowres`` is ``patch_size // scale`` square, or ``patch_size`` when the
degradation keeps the size (``downup``) or ``upsample_input=True`` (models such as the
auto-encoder and the U-Net take an input already bicubic-upsampled to the output size).
Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from srlib.arrays import check_image, mod_crop, to_float
from srlib.degrade import degrade
from srlib.resize import imresize


def augment(lowres: np.ndarray, highres: np.ndarray, rng: np.random.Generator):
    """The same random flip and 90-degree rotation (one of 8 dihedral transforms) on both."""
    if rng.random() < 0.5:
        lowres, highres = lowres[:, ::-1], highres[:, ::-1]
    turns = int(rng.integers(4))
    return np.rot90(lowres, turns), np.rot90(highres, turns)


def degrade_pair(image, degradation: str | Callable = "bicubic", scale: int = 2, upsample_input: bool = False,
                 seed=0, name: str = "highres") -> tuple[np.ndarray, np.ndarray]:
    """One whole-image pair ``(lowres, highres)`` from a high-resolution image.

    ``highres`` is the image cropped to a multiple of ``scale``; ``lowres`` is its degraded
    version (``degradation``: a name from ``srlib.registry.DEGRADATIONS`` or a function
    ``f(highres, rng) -> lowres``), bicubic-resized to the ``highres`` size when
    ``upsample_input`` or when the degradation's output is neither the same size nor exactly
    ``scale`` times smaller (``crappify``).
    """
    highres = mod_crop(to_float(check_image(image, name)), scale)
    rng = np.random.default_rng(seed)
    if callable(degradation):
        lowres = degradation(highres, rng)
    else:
        lowres = degrade(highres, degradation, scale=scale, seed=rng)
    expected = (highres.shape[0] // scale, highres.shape[1] // scale)
    if upsample_input or lowres.shape[:2] not in (expected, highres.shape[:2]):
        lowres = imresize(lowres, size=highres.shape[:2])
    return lowres, highres


class PairedPatches:
    """Random aligned patch pairs from whole images; indexable, deterministic for a given seed.

    Args:
        images: high-resolution images, a list or ``{name: image}`` (HWC, float [0, 1] or uint8).
        degradation: a name from ``srlib.registry.DEGRADATIONS`` or a function
            ``f(highres, seed) -> lowres``.
        scale: the downscale factor of the degradation (1 for same-size degradations).
        patch_size: side of the high-resolution patch; must be a multiple of ``scale``.
        length: how many pairs one pass (an "epoch") holds; default one per image.
        augment: random flips and rotations.
        upsample_input: give the model its input bicubic-upsampled to ``patch_size``.
        seed: fixes the degradations and which patches are drawn.
        fresh_damage: degrade every image again at each epoch (seed ``[seed, epoch, index]``), so a
            random degradation (crappify's JPEG quality, its number and where it is written)
            differs from one epoch to the next; epoch 0 is the same as without it.

    Index ``i`` of epoch ``e`` always gives the same pair; :meth:`set_epoch` moves to new crops.
    Degradations whose output is not exactly ``scale`` times smaller (``crappify`` resizes to a
    96-pixel shorter side) are bicubic-resized back to the high-resolution size, as fastai does.
    """

    def __init__(self, images: Sequence | Mapping, degradation: str | Callable = "bicubic", scale: int = 2,
                 patch_size: int = 64, length: int | None = None, augment: bool = True,
                 upsample_input: bool = False, seed: int = 0, fresh_damage: bool = False):
        if isinstance(images, Mapping):
            names, images = list(images.keys()), list(images.values())
        else:
            images = list(images)
            names = [f"image {index}" for index in range(len(images))]
        if not images:
            raise ValueError("PairedPatches needs at least one image")
        if scale < 1 or patch_size % scale:
            raise ValueError(f"patch_size ({patch_size}) must be a positive multiple of scale ({scale})")
        self.scale, self.patch_size, self.augment, self.seed = scale, patch_size, augment, seed
        self.degradation, self.upsample_input, self.fresh_damage = degradation, upsample_input, fresh_damage
        self._damaged = {}  # {image index: lowres} of the current epoch, with fresh_damage
        self.names = names
        self.length = length if length is not None else len(images)
        self.epoch = 0
        self.highres, self.lowres = [], []
        for index, (name, image) in enumerate(zip(names, images)):
            lowres, highres = degrade_pair(image, degradation, scale, upsample_input, seed=[seed, index], name=name)
            if min(highres.shape[:2]) < patch_size:
                raise ValueError(f"{name}: {highres.shape[0]}x{highres.shape[1]} is smaller than the "
                                 f"patch size {patch_size}")
            self.highres.append(highres)
            self.lowres.append(lowres)
        self.input_scale = self.highres[0].shape[0] // self.lowres[0].shape[0]

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Draw a new set of crops (the pairs of epoch ``epoch``); data loaders call this."""
        if int(epoch) != self.epoch:
            self._damaged = {}
        self.epoch = int(epoch)

    def _lowres(self, image_index: int) -> np.ndarray:
        if not self.fresh_damage or self.epoch == 0:
            return self.lowres[image_index]
        if image_index not in self._damaged:
            self._damaged[image_index] = degrade_pair(
                self.highres[image_index], self.degradation, self.scale, self.upsample_input,
                seed=[self.seed, self.epoch, image_index], name=self.names[image_index])[0]
        return self._damaged[image_index]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} pairs")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image_index = index % len(self.highres)
        highres, lowres = self.highres[image_index], self._lowres(image_index)
        step = self.input_scale
        lowres_size = self.patch_size // step
        top = int(rng.integers(0, (highres.shape[0] - self.patch_size) // step + 1))
        left = int(rng.integers(0, (highres.shape[1] - self.patch_size) // step + 1))
        lowres_patch = lowres[top: top + lowres_size, left: left + lowres_size]
        highres_patch = highres[top * step: top * step + self.patch_size, left * step: left * step + self.patch_size]
        if self.augment:
            lowres_patch, highres_patch = augment(lowres_patch, highres_patch, rng)
        return np.ascontiguousarray(lowres_patch), np.ascontiguousarray(highres_patch)

    def batch(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """Stack the pairs at ``indices`` into NHWC arrays ``(lowres, highres)``."""
        pairs = [self[index] for index in indices]
        return np.stack([pair[0] for pair in pairs]), np.stack([pair[1] for pair in pairs])


def make_pairs(images: Mapping, degradation: str = "bicubic", scale: int = 2, upsample_input: bool = False,
               seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Whole-image pairs ``{name: (lowres, highres)}`` for evaluation (no crops, no augmentation).

    Each image gets its own seed ``[seed, index]``, as in :class:`PairedPatches`; see
    :func:`degrade_pair`.
    """
    return {name: degrade_pair(image, degradation, scale, upsample_input, seed=[seed, index], name=name)
            for index, (name, image) in enumerate(images.items())}


def tile_pyramid(images: Mapping, tile_size: int, levels: Sequence[int] = (1, 2, 4)) -> dict[str, np.ndarray]:
    """Many small training images from a few large photos: ``{name: image}``.

    For each level ``k`` the photo is shrunk (:func:`srlib.resize.shrink`, never enlarged) to a
    shorter side of ``k * tile_size``: at ``k = 1`` the whole shrunk photo is kept (the whole
    scene, as lesson 7 trains on), at ``k > 1`` it is cut into non-overlapping ``tile_size``
    squares (a centred grid; details seen closer). Levels larger than the photo are skipped.
    A 1280x800 photo at ``tile_size=192`` gives 1 + 6 + 24 = 31 images. Degradations that damage
    a whole image once (``crappify``: its JPEG quality and the number written on it) then vary
    from one small image to the next, which a handful of large photos cannot give.

    Names are ``<photo>@<shorter side>`` for whole photos, ``<photo>@<shorter side>_<row>_<col>``
    for tiles. Images are HWC float32 in [0, 1].
    """
    from srlib.resize import shrink

    pyramid = {}
    for name, image in images.items():
        image = to_float(check_image(image, name))
        for level in levels:
            side = level * tile_size
            if level > 1 and side > min(image.shape[:2]):
                continue
            scaled = shrink(image, side)
            if level == 1:
                pyramid[f"{name}@{side}"] = scaled
                continue
            rows, columns = scaled.shape[0] // tile_size, scaled.shape[1] // tile_size
            top = (scaled.shape[0] - rows * tile_size) // 2
            left = (scaled.shape[1] - columns * tile_size) // 2
            for row in range(rows):
                for column in range(columns):
                    y, x = top + row * tile_size, left + column * tile_size
                    pyramid[f"{name}@{side}_{row}_{column}"] = scaled[y: y + tile_size, x: x + tile_size]
    return pyramid


def degrade_photos(images: Mapping, degradation: str | Callable = "bicubic", scale: int = 2,
                   upsample_input: bool = True, seed: int = 0, multiple: int = 1) -> tuple[dict, dict]:
    """Whole validation photos as ``(inputs, targets)``, two ``{name: image}`` dictionaries.

    Each photo is first cropped to a multiple of ``multiple`` (a model that downsamples by 16
    needs sides divisible by 16), then degraded as :func:`make_pairs` does, with seed
    ``[seed, index]``. ``inputs`` are what a model takes (bicubic-upsampled to the target size
    when ``upsample_input``), ``targets`` the originals. Every tutorial scores on these.
    """
    cropped = {name: mod_crop(to_float(check_image(image, name)), multiple) for name, image in images.items()}
    pairs = make_pairs(cropped, degradation, scale, upsample_input, seed)
    return {name: pair[0] for name, pair in pairs.items()}, {name: pair[1] for name, pair in pairs.items()}
