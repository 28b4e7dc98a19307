"""Numeric precision and memory format for PyTorch inference and training (imports torch).

bfloat16 keeps float32's exponent range with an 8-bit mantissa, so it needs no loss scaling;
where the hardware multiplies it natively (x86 CPUs with AVX-512-BF16 or AMX-BF16, NVIDIA GPUs
from Ampere on) ``torch.autocast(dtype=torch.bfloat16)`` runs convolutions several times faster
than float32, and channels-last (NHWC) tensors let oneDNN use its fastest kernels. Measured on
this project's 2-core CPU in ``results/benchmarks/speed.md`` (``make benchmark``).

Three choices, everywhere the library runs a model (``srlib upscale --precision``,
:func:`srlib.zoo.upscale`, :func:`srlib.torch.inference.upscale_array`, :mod:`srlib.train_sr`):

- ``"fp32"``: plain float32, contiguous NCHW: the reference;
- ``"bf16"``: bfloat16 autocast + channels-last, wherever asked (emulated, and slow, on a CPU
  without native bfloat16);
- ``"auto"`` (default): ``"bf16"`` where :func:`bfloat16_support` finds native support, else
  ``"fp32"``; the environment variable ``SRLIB_PRECISION=fp32`` (or ``bf16``) overrides it for
  a whole run.

Under ``"bf16"`` for inference, the model's first and last convolutions run in float32
(:func:`keep_float32`): the input image keeps its full precision, and the output image is not
rounded to bfloat16's 8-bit mantissa (steps of 1/128 just below 1.0, coarser than 8-bit colour).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

# PRECISIONS is re-exported: srlib.torch.precision.PRECISIONS is what the PyTorch side offers.
from srlib.config import PRECISIONS, check_precision, native_bfloat16_flags, precision_setting  # noqa: F401

#: What ``torch.cpu``'s private feature checks are called, and the instruction set each one reports.
_TORCH_CPU_CHECKS = {"_is_avx512_bf16_supported": "avx512_bf16", "_is_amx_tile_supported": "amx_tile"}


def bfloat16_support(device="cpu") -> tuple[bool, str]:
    """``(supported, how it was decided)`` for native bfloat16 arithmetic on ``device``.

    CUDA: ``torch.cuda.is_bf16_supported()`` (compute capability 8.0 or newer). CPU: PyTorch's
    own CPU feature checks ``torch.cpu._is_avx512_bf16_supported()`` and
    ``torch.cpu._is_amx_tile_supported()`` (the instructions oneDNN's bfloat16 kernels use),
    falling back to the ``avx512_bf16`` / ``amx_bf16`` flags in ``/proc/cpuinfo``. Without them
    oneDNN emulates bfloat16, which is slower than float32, so ``"auto"`` keeps float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        name = torch.cuda.get_device_name(device) if torch.cuda.is_available() else "no CUDA device"
        return supported, f"torch.cuda.is_bf16_supported() on {name}: {supported}"
    if device.type != "cpu":
        return False, f"{device.type}: not checked, float32"
    checks = {label: bool(getattr(torch.cpu, name)()) for name, label in _TORCH_CPU_CHECKS.items()
              if hasattr(torch.cpu, name)}
    if checks:
        found = [label for label, present in checks.items() if present]
        return bool(found), f"torch.cpu reports {', '.join(found) if found else 'neither avx512_bf16 nor amx_tile'}"
    flags = native_bfloat16_flags()
    return bool(flags), f"/proc/cpuinfo flags: {', '.join(sorted(flags)) or 'no avx512_bf16 or amx_bf16'}"


def resolve(precision: str = "auto", device="cpu") -> str:
    """``"fp32"`` or ``"bf16"``: what ``precision`` (``auto``/``fp32``/``bf16``) means on ``device``.

    ``"auto"`` first follows ``SRLIB_PRECISION`` when set (:func:`srlib.config.precision_setting`).
    """
    if check_precision(precision) == "auto":
        precision = precision_setting()
    if precision == "auto":
        return "bf16" if bfloat16_support(device)[0] else "fp32"
    return precision


def autocast(precision: str, device="cpu"):
    """A context: bfloat16 autocast on ``device`` for ``"bf16"``, nothing for ``"fp32"``."""
    device = torch.device(device)
    if resolve(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(precision: str, device="cpu") -> torch.memory_format:
    """channels-last for bfloat16 (oneDNN's and cuDNN's fast layout), contiguous NCHW otherwise."""
    return torch.channels_last if resolve(precision, device) == "bf16" else torch.contiguous_format


def end_convolutions(model: nn.Module) -> list[nn.Module]:
    """The first and the last ``nn.Conv2d`` of ``model`` in registration order (one if only one)."""
    convolutions = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    return list(dict.fromkeys([convolutions[0], convolutions[-1]])) if convolutions else []


@contextlib.contextmanager
def keep_float32(modules, device_type: str = "cpu", recast: tuple = ()):
    """Run ``modules`` in float32 (autocast off, inputs cast up) inside an autocast region.

    The outputs of the modules in ``recast`` go back to bfloat16, so that only the module itself
    runs in float32 and what follows stays fast (the first convolution: its input is kept exact,
    its features join the bfloat16 network); the others' outputs stay float32 (the last
    convolution: the output image is not rounded to bfloat16). Forward hooks, removed on exit:
    the model's parameters and state dict are untouched.
    """
    states = {}

    def before(module, inputs):
        states[module] = torch.autocast(device_type, enabled=False)
        states[module].__enter__()
        return tuple(x.float() if torch.is_tensor(x) and x.is_floating_point() else x for x in inputs)

    def after(module, inputs, output):
        states.pop(module).__exit__(None, None, None)
        if any(module is other for other in recast):
            return output.to(torch.bfloat16)
        return output

    handles = []
    for module in modules:
        handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def inference(model: nn.Module, precision: str = "auto", device=None):
    """Run ``model`` at ``precision`` inside the block; yields the resolved ``"fp32"``/``"bf16"``.

    For ``"bf16"``: channels-last weights, bfloat16 autocast, first and last convolutions in
    float32. The model's memory format is restored on exit. Inputs should be made channels-last
    with :func:`memory_format` (a contiguous input also works, a little slower).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    resolved = resolve(precision, device)
    if resolved == "fp32":
        yield resolved
        return
    model.to(memory_format=torch.channels_last)
    try:
        ends = end_convolutions(model)
        with torch.autocast(device.type, dtype=torch.bfloat16), keep_float32(ends, device.type, recast=ends[:1]):
            yield resolved
    finally:
        model.to(memory_format=torch.contiguous_format)


def prepare_training(model: nn.Module, precision: str = "auto", device=None) -> str:
    """Resolve ``precision`` for training ``model`` on ``device``; for ``"bf16"`` make it channels-last.

    Returns ``"fp32"`` or ``"bf16"``. In the loop, run the forward pass and the loss under
    :func:`autocast` and feed batches converted with :func:`memory_format`; the optimizer keeps
    float32 weights (autocast casts them per operation), and bfloat16 needs no loss scaling.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    resolved = resolve(precision, device)
    model.to(memory_format=memory_format(resolved, device))
    return resolved
