"""Enlarge image files with a zoo model, keeping what they hold: ``srlib upscale`` in Python.

    from srlib.enlarge import upscale_file
    upscale_file("logo.png", "enlarged/", model="edsr-x4")              # RGBA in, RGBA PNG out, 4x
    upscale_file("scan.tif", "scan_x2.5.tif", model="real-x4", outscale=2.5)   # 16-bit grey TIFF in and out

:func:`upscale_file` reads the file with :func:`srlib.io.read_picture` and keeps:

- **transparency**: fully transparent pixels take the colour of the nearest visible one
  (:func:`matte`), so the model, which mixes neighbours, makes no dark or light fringe at the
  edges; the alpha is resized on its own by MATLAB's antialiased bicubic
  (:func:`srlib.resize.imresize`), clipped to [0, 1]; an opaque alpha stays exactly opaque;
- **grey**: run as three equal channels, written back as their mean;
- **bit depth**: 16-bit and floating-point samples stay float32 throughout and are written at their depth;
- **colour**: the ICC profile is carried as it is, not converted (the model works on the file's
  own values, as it does on sRGB photos); CMYK becomes RGB (:func:`srlib.io.read_picture`);
- **metadata**: the EXIF, less the orientation (applied to the pixels) and the sizes;
- **format**: the input's (``format="same"``; BMP and GIF become PNG) or the one asked. What the
  format cannot hold is said in one :class:`UpscaleWarning` naming the file: transparency in JPEG
  is composited over white, 16- and 32-bit samples in JPEG or WebP become 8-bit (PNG: 16);
- **size**: the model's scale, or ``outscale``, ``width``, ``height``: the model's scale, then an
  antialiased resize to the size asked (:func:`output_size`).

:class:`Upscaler` holds one loaded model for many files: its backend (PyTorch, or ONNX Runtime on
CPUs without native bfloat16, :func:`choose_backend`) and its tiles (sized from the free memory
of the device, halved after an out-of-memory error). Imports torch only when a model is loaded.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

import srlib.io
from srlib.io import DEFAULT_MAX_PIXELS, FileFormat, Picture, file_format, flatten

#: ``--format`` choices other than ``same``, and the suffix each writes.
OUTPUT_FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tif"}
FORMAT_CHOICES = ("same", *OUTPUT_FORMATS)
#: What ``same`` keeps; other inputs (BMP, GIF) are written as PNG.
SAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
BACKENDS = ("auto", "torch", "onnxruntime")


class UpscaleWarning(UserWarning):
    """Something an output could not keep of its input, or a retry with smaller tiles: one line."""


def output_suffix(source, format: str = "same") -> str:
    """The suffix of the file written for ``source``: its own for ``same`` (``.png`` for BMP and
    GIF), else that of ``format`` (one of :data:`FORMAT_CHOICES`)."""
    if format == "same":
        suffix = Path(source).suffix.lower()
        return suffix if suffix in SAME_SUFFIXES else ".png"
    if format not in OUTPUT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMAT_CHOICES)}, not {format!r}")
    return OUTPUT_FORMATS[format]


def positive_factor(value) -> float:
    """``value`` (a number or its text) as a float; ``ValueError`` unless finite and above 0."""
    try:
        factor = float(value)
    except (TypeError, ValueError):
        factor = math.nan
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"must be a number greater than 0, not {value!r}")
    return factor


def _whole_number(value) -> int | None:
    """``value`` (a whole number or its text) as an int, or None when it is not one."""
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _at_least(value, least: int, what: str) -> int:
    """``value`` (a whole number or its text) as an int; ``ValueError`` ("must be <what>, not ...")
    unless it is at least ``least``."""
    number = _whole_number(value)
    if number is None or number < least:
        raise ValueError(f"must be {what}, not {value!r}")
    return number


def positive_size(value) -> int:
    """``value`` (a whole number or its text) as an int; ``ValueError`` unless above 0."""
    return _at_least(value, 1, "a whole number of pixels greater than 0")


def step_count(value) -> int:
    """A diffusion model's sampling steps (a whole number or its text) as an int; ``ValueError``
    unless above 0 (the model itself checks the upper end, its training steps)."""
    return _at_least(value, 1, "a whole number of sampling steps greater than 0")


def seed_number(value) -> int:
    """A seed (a whole number or its text) as an int; ``ValueError`` unless 0 or more."""
    return _at_least(value, 0, "a whole number, 0 or more")


def quality_level(value) -> int:
    """JPEG's and WebP's quality, 1 (smallest file) to 100 (best); ``ValueError`` outside."""
    quality = _whole_number(value)
    if quality is None or not 1 <= quality <= 100:
        raise ValueError(f"must be a whole number from 1 to 100, not {value!r}")
    return quality


def strength_level(value) -> float:
    """A camera model's strength (:func:`srlib.zoo.load_model`): ``value`` (a number or its text)
    as a float; ``ValueError`` unless from 0 (the faithful model) to 1 (the camera model)."""
    try:
        strength = float(value)
    except (TypeError, ValueError):
        strength = math.nan
    if not 0.0 <= strength <= 1.0:  # NaN fails too
        raise ValueError(f"must be a number from 0 to 1, not {value!r}")
    return strength


def tile_side(value) -> int | str:
    """``"auto"`` or a tile side in pixels (0: whole images); ``ValueError`` for anything else."""
    if str(value).strip().lower() == "auto":
        return "auto"
    side = _whole_number(value)
    if side is None or side < 0:
        raise ValueError(f"must be 'auto' or a whole number of pixels (0 for whole images), not {value!r}")
    return side


def _checked(name: str, check, value):
    try:
        return check(value)
    except ValueError as error:
        raise ValueError(f"{name} {error}") from None


def output_size(height: int, width: int, scale: int, outscale=None, out_width=None, out_height=None) -> tuple[int, int]:
    """``(height, width)`` of the output for an input of ``height`` x ``width`` pixels.

    By default ``scale`` times the input (the model's own enlargement). ``outscale``: that factor
    (any number above 0), each side rounded to the nearest pixel, at least 1. ``out_width``
    and/or ``out_height`` in pixels: one alone keeps the aspect ratio. ``outscale`` with a width or
    height is a ``ValueError``, as is any value that is not a positive number.
    """
    if outscale is not None and (out_width is not None or out_height is not None):
        raise ValueError("outscale and width/height cannot be combined: give one "
                         "(--outscale F, or --width and/or --height)")

    def rounded(value):
        return max(1, math.floor(value + 0.5))

    if outscale is not None:
        factor = _checked("outscale", positive_factor, outscale)
        return rounded(height * factor), rounded(width * factor)
    out_width = None if out_width is None else _checked("width", positive_size, out_width)
    out_height = None if out_height is None else _checked("height", positive_size, out_height)
    if out_width and out_height:
        return out_height, out_width
    if out_width:
        return rounded(height * out_width / width), out_width
    if out_height:
        return out_height, rounded(width * out_height / height)
    return height * scale, width * scale


def matte(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``colour`` (HxWxC float32) with each fully transparent pixel (``alpha`` 0; HxW in [0, 1])
    given the colour of the nearest pixel that is not, so that a model, which mixes neighbouring
    pixels, draws no halo of the hidden colour (often black or white) around the visible edges:
    the "alpha bleeding" of texture tools, with the nearest pixels found by
    ``scipy.ndimage.distance_transform_edt``. Unchanged when no pixel, or every pixel, is hidden."""
    hidden = alpha <= 0
    if not hidden.any() or hidden.all():
        return colour
    from scipy.ndimage import distance_transform_edt

    _, (rows, columns) = distance_transform_edt(hidden, return_indices=True)
    return colour[rows, columns]


def choose_backend(backend: str = "auto", device="cpu", precision: str = "auto") -> str:
    """``"torch"`` or ``"onnxruntime"``: what ``backend`` (one of :data:`BACKENDS`) means here.

    ``auto`` takes ONNX Runtime on a CPU without native bfloat16 (where PyTorch computes in
    float32 and ONNX Runtime is faster: docs/zoo.md's speed columns) when the ``onnxruntime``
    package is installed and ``precision`` resolves to float32; PyTorch everywhere else (a GPU, or
    bfloat16 in PyTorch, which :func:`srlib.torch.precision.bfloat16_support` finds native).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    import torch

    from srlib.torch.precision import bfloat16_support, resolve

    if torch.device(device).type != "cpu" or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    return "onnxruntime" if resolve(precision, "cpu") == "fp32" and not bfloat16_support("cpu")[0] else "torch"


class Upscaler:
    """A zoo model ready for many images: :meth:`__call__` takes HxWx3 float32 RGB in [0, 1] and
    returns it enlarged ``scale`` times (float32 in [0, 1]).

    Args:
        model: a zoo name, a .safetensors file with its .json, or a ``(model, metadata)`` pair
            (:func:`srlib.zoo.load_model`).
        device, precision, self_ensemble, progress: as :func:`srlib.zoo.upscale`.
        backend: ``auto``, ``torch`` or ``onnxruntime`` (:func:`choose_backend`; ONNX Runtime runs
            the model exported by :mod:`srlib.export`, on the CPU, in float32).
        tile: ``"auto"`` (:func:`srlib.torch.inference.tile_for_memory`: from the device's free memory),
            a side in input pixels, or 0 / None for whole images. After an out-of-memory error the
            image is tried again with tiles half as large, down to 32 pixels.
        strength: for a camera model (``real-x4``), 0 (the faithful model it was fine-tuned from)
            to 1 (full restoration), by interpolating the two networks' weights; None: the
            model's default (:func:`srlib.zoo.load_model`). Not with a ``(model, metadata)`` pair.
        steps, seed: for a diffusion model (``diffusion-x4``), the sampling steps and the seed
            of its noise (:func:`srlib.zoo.load_model`); None: the model's defaults. A diffusion
            model runs in PyTorch: ``backend="auto"`` picks ``torch`` for it.
    """

    def __init__(self, model="edsr-x4", device=None, backend: str = "auto", precision: str = "auto",
                 tile="auto", self_ensemble: bool = False, progress: bool = False, strength: float | None = None,
                 steps: int | None = None, seed: int | None = None):
        from srlib import zoo
        from srlib.torch.precision import check_precision, resolve
        from srlib.torch.inference import tile_for_memory

        tile, precision = tile_side(0 if tile is None else tile), check_precision(precision)
        if isinstance(model, tuple) and strength is not None:
            raise ValueError("a strength is applied when loading: give the model's name, not a loaded (model, metadata)")
        if isinstance(model, tuple):
            self.model, self.metadata = zoo.with_sampler(*model, steps, seed)
        else:
            self.model, self.metadata = zoo.load_model(model, device=device, strength=strength, steps=steps, seed=seed)
        self.device = next(self.model.parameters()).device
        if zoo.is_diffusion(self.metadata):
            if backend == "onnxruntime":
                raise ValueError(f"{self.metadata['name']} samples a loop of denoising steps with random noise, which "
                                 "runs in PyTorch only: use --backend torch (or auto)")
            backend = "torch"
        self.backend = choose_backend(backend, self.device, precision)
        if self.backend == "onnxruntime":
            if self.device.type != "cpu":
                raise ValueError(f"the onnxruntime backend runs on the CPU, not {self.device}: use --device cpu "
                                 "or --backend torch")
            if precision == "bf16":
                raise ValueError("the onnxruntime backend computes in float32: --precision bf16 needs --backend torch")
            from srlib.export import OnnxRuntimeNetwork

            self.network, self.precision = OnnxRuntimeNetwork(self.model, self.metadata), "fp32"
        else:
            self.network, self.precision = self.model, resolve(precision, self.device)
        self.sized_from_memory = tile == "auto"
        multiple = zoo.scale_and_multiple(self.metadata)[1]
        self.tile = tile_for_memory(self.model, multiple, self.device) if tile == "auto" else (tile or None)
        self.self_ensemble, self.progress = self_ensemble, progress

    @property
    def scale(self) -> int:
        return self.metadata["scale"]

    def describe(self) -> str:
        """One line: model, scale, device, backend, precision, tiles."""
        tiles = f"tiles of {self.tile} px" if self.tile else "whole images"
        memory = " (sized from the free memory)" if self.sized_from_memory else ""
        strength = (f" at strength {self.metadata['strength']:g} (0: {self.metadata['faithful']['model']})"
                    if "strength" in self.metadata else "")
        if "sampler" in self.metadata:
            sampler = self.metadata["sampler"]
            strength += (f", {sampler['num_steps']} sampling step{'s' if sampler['num_steps'] > 1 else ''} of "
                         f"{sampler['train_steps']}, seed {sampler['seed']}")
        return (f"{self.metadata['name']}{strength}: x{self.scale} on {self.device}, {self.backend}, {self.precision}, "
                f"{tiles}{memory}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        import torch

        from srlib import zoo
        from srlib.torch.inference import TILE_SIDES

        while True:
            try:
                return zoo.upscale(self.network, self.metadata, image, tile=self.tile, self_ensemble=self.self_ensemble,
                                   progress=self.progress, precision=self.precision)
            except torch.OutOfMemoryError:
                side = self.tile or max(image.shape[:2])
                smaller = next((tile for tile in TILE_SIDES if tile < side), None)
                if smaller is None:
                    raise ValueError(f"out of memory on {self.device} even with tiles of {side} px") from None
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                warnings.warn(UpscaleWarning(f"out of memory on {self.device} with tiles of {side} px: "
                                             f"trying again with {smaller} px"), stacklevel=2)
                self.tile = smaller


def upscale_picture(picture: Picture, upscaler, size: tuple[int, int] | None = None) -> Picture:
    """``picture`` enlarged by ``upscaler`` (HxWx3 RGB float32 in, enlarged out) to ``size``
    (``(height, width)``; default the upscaler's scale), keeping its channels and everything else
    it holds. The colour goes through the model (on :func:`matte` where there is transparency),
    then an antialiased resize to ``size``; the alpha through the resize alone."""
    colour, alpha = picture.colour, picture.alpha
    opaque = alpha is None or float(alpha.min()) >= 1.0
    rgb = np.repeat(colour, 3, axis=2) if picture.grey else colour
    if not opaque:
        rgb = matte(rgb, alpha)
    enlarged = upscaler(np.ascontiguousarray(rgb, dtype=np.float32))
    size = tuple(size or enlarged.shape[:2])
    from srlib.resize import imresize

    if enlarged.shape[:2] != size:
        enlarged = imresize(enlarged, size=size)
    channels = [enlarged.mean(axis=2, keepdims=True) if picture.grey else enlarged]
    if alpha is not None:
        channels.append(np.ones((*size, 1), np.float32) if opaque else imresize(alpha, size=size)[..., None])
    return replace(picture, pixels=np.concatenate(channels, axis=2).astype(np.float32))


def fit_format(picture: Picture, kind: FileFormat, source) -> Picture:
    """``picture`` made writable as ``kind``: composited over white where the format has no
    transparency, and with fewer bits where it holds fewer; each loss is an :class:`UpscaleWarning`."""
    if picture.has_alpha and not kind.alpha:
        if float(picture.alpha.min()) < 1.0:
            warnings.warn(UpscaleWarning(f"{source}: transparency composited over white: {kind.name} holds none "
                                         "(--format png, webp or tiff keeps it)"), stacklevel=3)
        picture = flatten(picture)
    if picture.bits not in kind.bits:
        bits = max(bits for bits in kind.bits if bits < picture.bits)
        warnings.warn(UpscaleWarning(f"{source}: {picture.bits}-bit samples written with {bits} bits: {kind.name} "
                                     "holds no more (--format png or tiff keeps 16 bits)"), stacklevel=3)
        picture = replace(picture, bits=bits)
    return picture


def upscale_file(path, output, model="edsr-x4", format: str | None = None, quality: int = 95, outscale=None,
                 width=None, height=None, overwrite: bool = False, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 **options) -> Path:
    """Enlarge the image file ``path`` into ``output``, as ``srlib upscale`` does; returns the file written.

    Args:
        output: the file to write (its suffix names the format), or an existing folder (then
            ``<folder>/<stem><suffix>``, the suffix by :func:`output_suffix`).
        model: an :class:`Upscaler` (for many files), or what it takes: a zoo name or a
            .safetensors file; ``options`` (``device``, ``backend``, ``precision``, ``tile``,
            ``self_ensemble``, ``progress``, ``strength``) go to it.
        format: ``same``, ``png``, ``jpg``, ``webp`` or ``tiff``; for a folder ``output``
            (default ``same``); for a file, it must agree with the suffix.
        quality: JPEG's and WebP's, 1-100.
        outscale, width, height: the output size (:func:`output_size`); default the model's scale.
        overwrite: replace an existing ``output`` (otherwise ``FileExistsError``, before any work).
        max_pixels: refuse larger inputs (decompression bombs); None lifts the limit.

    What the output keeps of each kind of input is in the module docstring and docs/files.md.
    Errors are ``ValueError`` / ``OSError`` naming the file; losses are :class:`UpscaleWarning`.
    """
    path, output = Path(path), Path(output)
    if output.is_dir():
        output = output / f"{path.stem}{output_suffix(path, format or 'same')}"
    elif format not in (None, "same") and file_format(output) != file_format(f"x{output_suffix(path, format)}"):
        raise ValueError(f"{output}: the suffix does not name the format {format!r}")
    kind = file_format(output)
    quality = _checked("quality", quality_level, quality)
    output_size(1, 1, 1, outscale, width, height)  # refuse bad sizes before any work
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output}: exists already (pass overwrite=True to replace it)")
    if isinstance(model, Upscaler):
        if options:
            raise TypeError(f"options {', '.join(options)} are the Upscaler's: give them when making it")
        upscaler = model
    else:
        upscaler = Upscaler(model, **options)
    picture = srlib.io.read_picture(path, max_pixels)
    size = output_size(*picture.pixels.shape[:2], upscaler.scale, outscale, width, height)
    result = fit_format(upscale_picture(picture, upscaler, size), kind, path)
    return srlib.io.write_picture(output, result, overwrite=overwrite, quality=quality)
