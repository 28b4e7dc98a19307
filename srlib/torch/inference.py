"""Apply an image-to-image PyTorch model to a whole image of any size, tile by tile (imports torch).

Large images are cut into ``tile``-pixel squares; each is run with ``overlap`` extra pixels of
real context on every side (reflection only at the image border), and only its centre is kept, so
memory is bounded by the tile, not the image. With an overlap at least the model's receptive
radius (EDSR-baseline: 35 low-resolution pixels) the tiled result equals the untiled one up to
float rounding; for U-Nets, whose receptive field is larger than any tile, the difference is small
and measured in ``results/benchmarks/zoo.md``. ``precision`` picks float32 or bfloat16 (:mod:`srlib.torch.precision`).

:func:`tile_for_memory` sizes the tiles from the device's free memory (:func:`free_memory`) and an
estimate of the model's activations per pixel (:func:`activation_bytes_per_pixel`).

Shapes: input HWC float32 RGB in [0, 1]; output HWC float32 in [0, 1], ``scale`` times larger
(``scale=1`` for models that take a bicubic-upsampled input, such as the U-Nets).
Used by ``srlib upscale`` and :mod:`srlib.zoo`.
"""
from __future__ import annotations

import numpy as np
import torch

from srlib.arrays import check_image, pad_to_multiple
from srlib.torch import to_image, to_tensor


#: The tile sides :func:`tile_for_memory` chooses from, largest first: a few steps rather than any
#: size, so that a little more or less free memory gives the same tiles (and the same output).
TILE_SIDES = (2048, 1024, 512, 256, 128, 64, 32)


def default_overlap(model: torch.nn.Module) -> int:
    """Context pixels around each tile: the model's ``receptive_radius()`` if it has one, else 32."""
    return model.receptive_radius() if hasattr(model, "receptive_radius") else 32


def free_memory(device) -> int:
    """Bytes free for new work on ``device``: ``torch.cuda.mem_get_info`` on a GPU, the available
    RAM on the CPU (:func:`srlib.config.available_memory`)."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    from srlib.config import available_memory

    return available_memory()


def activation_bytes_per_pixel(model: torch.nn.Module, multiple: int = 1, device=None) -> float:
    """An estimate of the memory one input pixel takes while ``model`` runs, in bytes (float32).

    Runs the model once on a small random image (a 32-pixel square, or ``2 * multiple``) and
    records each leaf module's output; twice the three largest allows for a layer's input and
    output, skip connections and the framework's workspace. On this project's CPU it is 1.8-1.9
    times the measured peak for EDSR and 0.9 times for the U-Nets, whose skip connections hold
    more; :func:`tile_for_memory` plans on half the free memory.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    side = max(32, 2 * multiple)
    sizes = []
    hooks = [module.register_forward_hook(lambda module, inputs, output: sizes.append(output.numel()))
             for module in model.modules() if not list(module.children())]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()
            model(torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)).to(device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    largest = sorted(sizes, reverse=True)[:3] or [3 * side * side]
    return 2 * 4 * sum(largest) / (side * side)


def tile_for_memory(model: torch.nn.Module, multiple: int = 1, device=None, free_bytes: int | None = None,
                    fraction: float = 0.5) -> int:
    """The largest of :data:`TILE_SIDES` whose tile, with its overlap on every side, fits in
    ``fraction`` of ``free_bytes`` (default: :func:`free_memory` of ``device``) by
    :func:`activation_bytes_per_pixel`; the smallest side when none fits."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    budget = fraction * (free_memory(device) if free_bytes is None else free_bytes)
    per_pixel = activation_bytes_per_pixel(model, multiple, device)
    overlap = default_overlap(model)
    return next((side for side in TILE_SIDES if (side + 2 * overlap) ** 2 * per_pixel <= budget), TILE_SIDES[-1])


def _run(model, window: np.ndarray, multiple: int, device, layout=torch.contiguous_format) -> torch.Tensor:
    """The model on one HWC window, reflection-padded at the bottom/right to a multiple."""
    batch = to_tensor(pad_to_multiple(window, multiple))[None].to(device, memory_format=layout)
    return model(batch)[0]


def upscale_array(model: torch.nn.Module, image: np.ndarray, scale: int, tile: int | None = 512,
                  overlap: int | None = None, multiple: int = 1, device=None, progress: bool = False,
                  precision: str = "auto") -> np.ndarray:
    """``model`` applied to ``image``; see the module docstring for shapes and tiling.

    Args:
        scale: the model's output/input size ratio (1 for same-size models).
        tile: side of the input squares processed at once (``None``: the whole image at once).
        overlap: context pixels around each tile; default :func:`default_overlap`.
        multiple: inputs are padded to a multiple of this (32 for the MobileNetV2 U-Net).
        precision: ``"auto"`` (bfloat16 + channels-last where the hardware has native bfloat16,
            else float32), ``"fp32"`` or ``"bf16"``; see :mod:`srlib.torch.precision`.
    """
    image = check_image(image, "image")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    if overlap is None:
        overlap = default_overlap(model)
    height, width = image.shape[:2]
    was_training = model.training
    model.eval()
    output = np.empty((height * scale, width * scale, 3), dtype=np.float32)
    tile = max(height, width) if tile is None else int(tile)
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be positive and overlap non-negative (got {tile}, {overlap})")
    boxes = [(top, left) for top in range(0, height, tile) for left in range(0, width, tile)]
    from tqdm.auto import tqdm

    from srlib.torch import precision as precisions

    with torch.no_grad(), precisions.inference(model, precision, device) as resolved:
        layout = precisions.memory_format(resolved, device)
        for top, left in tqdm(boxes, desc="tiles", leave=False, disable=not progress or len(boxes) < 2):
            bottom, right = min(top + tile, height), min(left + tile, width)
            outer_top, outer_left = max(top - overlap, 0), max(left - overlap, 0)
            outer_bottom, outer_right = min(bottom + overlap, height), min(right + overlap, width)
            result = _run(model, image[outer_top:outer_bottom, outer_left:outer_right], multiple, device, layout)
            y0, x0 = (top - outer_top) * scale, (left - outer_left) * scale
            core = result[:, y0:y0 + (bottom - top) * scale, x0:x0 + (right - left) * scale]
            output[top * scale:bottom * scale, left * scale:right * scale] = to_image(core)
    model.train(was_training)
    return output
