"""Export a zoo model to ONNX, for ONNX Runtime and the tools built on it (imports torch and onnx).

``export_onnx(model, metadata, path)`` writes one ``.onnx`` file whose input is a batch of RGB
images, ``(N, 3, H, W)`` float32 in [0, 1], any height and width, and whose output is
``(N, 3, H * s, W * s)`` in [0, 1] (unclipped; clip before saving), where ``s`` is the network's
own enlargement: the zoo's ``scale`` for models that take the low-resolution image (``edsr-x2``,
``edsr-x4``), 1 for those that take it already enlarged with MATLAB's bicubic (the U-Nets, the
auto-encoder, the VAE: ``input = "bicubic-upsampled"`` in the file's metadata). Sizes that the
network cannot take (the U-Net's encoder halves the image five times) are reflection-padded and
cropped back inside the graph, as :func:`srlib.torch.inference.upscale_array` does. The file's metadata
(``onnx.ModelProto.metadata_props``) carries the zoo name, scale, input kind and srlib version.

``check_onnx(path, model)`` runs the file with ONNX Runtime on an image of an awkward size and
returns the largest difference from PyTorch's output. ``srlib export MODEL -o FILE.onnx`` does both.
Diffusion models (``diffusion-x4``: a sampling loop with random noise) are refused.

:class:`OnnxRuntimeNetwork` exports a model and runs it in ONNX Runtime behind PyTorch's calling
convention, so ``srlib upscale --backend onnxruntime`` tiles it like the PyTorch model.
:func:`keras_autoencoder_to_torch` brings tutorial 1's Keras network to PyTorch, for the zoo.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srlib.io import atomic_write

#: The ONNX operator set written: opset 17 is read by ONNX Runtime 1.14 (2023) and newer.
OPSET = 17


class PaddedNetwork(torch.nn.Module):
    """``network`` on inputs of any size: reflection-pad the bottom and right to a multiple of
    ``multiple``, run, crop the output back to ``scale`` times the input's size."""

    def __init__(self, network: torch.nn.Module, scale: int, multiple: int):
        super().__init__()
        self.network, self.scale, self.multiple = network, scale, multiple

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.multiple == 1:
            return self.network(image)
        height, width = image.shape[-2], image.shape[-1]
        pad_bottom = (self.multiple - height % self.multiple) % self.multiple
        pad_right = (self.multiple - width % self.multiple) % self.multiple
        output = self.network(F.pad(image, (0, pad_right, 0, pad_bottom), mode="reflect"))
        return output[..., : height * self.scale, : width * self.scale]


def export_onnx(model: torch.nn.Module, metadata: dict, path, overwrite: bool = False, opset: int = OPSET) -> Path:
    """Write ``model`` (a zoo model, from :func:`srlib.zoo.load_model`) to ``path`` (``.onnx``)
    with dynamic batch, height and width; returns the path. Refuses to replace a file unless
    ``overwrite``; the file appears whole or not at all."""
    import onnx

    import srlib
    from srlib.zoo import is_diffusion, scale_and_multiple

    if is_diffusion(metadata):
        raise ValueError(f"{metadata['name']}: a diffusion model samples a loop of {metadata['sampler']['num_steps']} "
                         "denoising steps with random noise, which ONNX export does not cover (it writes one pass of "
                         "a network); srlib upscale runs it in PyTorch")
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"{path}: ONNX files must end in .onnx")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists already (use --overwrite to replace it)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder")
    scale, multiple = scale_and_multiple(metadata)
    wrapped = PaddedNetwork(model.float().cpu().eval(), scale, multiple).eval()
    example = torch.rand(1, 3, 2 * max(multiple, 16) + 3, 2 * max(multiple, 16) + 5)
    axes = {0: "batch", 2: "height", 3: "width"}

    def write(temporary):
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic and the exporter's deprecation
            torch.onnx.export(wrapped, (example,), temporary, dynamo=False, opset_version=opset,
                              input_names=["image"], output_names=["output"],
                              dynamic_axes={"image": axes, "output": axes})
        graph = onnx.load(temporary)
        properties = {"srlib_model": metadata.get("name", path.stem), "scale": str(metadata["scale"]),
                      "input": metadata["input"], "network_enlargement": str(scale),
                      "degradation": json.dumps(metadata.get("degradation", {})),
                      "srlib_version": srlib.__version__,
                      "layout": "NCHW float32 RGB in [0, 1]; output unclipped"}
        for key, value in properties.items():
            graph.metadata_props.add(key=key, value=value)
        graph.doc_string = metadata.get("description", "")
        onnx.checker.check_model(graph)
        onnx.save(graph, temporary)

    atomic_write(path, write)
    return path


def check_onnx(path, model: torch.nn.Module, metadata: dict, height: int = 61, width: int = 83,
               seed: int = 0) -> float:
    """The largest absolute difference between ONNX Runtime's output for ``path`` and PyTorch's
    (:func:`srlib.torch.inference.upscale_array`, float32, whole image) on a random image of
    ``height`` x ``width`` (odd sizes, on purpose). Needs the ``onnxruntime`` package."""
    import onnxruntime

    from srlib.zoo import scale_and_multiple
    from srlib.torch.inference import upscale_array

    scale, multiple = scale_and_multiple(metadata)
    image = np.random.default_rng(seed).random((height, width, 3), dtype=np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = session.run(None, {"image": image.transpose(2, 0, 1)[None]})[0][0].transpose(1, 2, 0)
    reference = upscale_array(model, image, scale, tile=None, multiple=multiple, precision="fp32")
    return float(np.abs(np.clip(ours, 0, 1) - reference).max())


class OnnxRuntimeNetwork(torch.nn.Module):
    """``model`` exported by :func:`export_onnx` and run by ONNX Runtime on the CPU, in float32.

    Called like the model: an ``(N, 3, H, W)`` float32 tensor in, the network's output out
    (``(N, 3, H * s, W * s)``, unclipped), so :func:`srlib.torch.inference.upscale_array` and
    :func:`srlib.zoo.upscale` tile it the same way. ``reference`` is the PyTorch model, kept for
    its device and ``receptive_radius`` (the tiles' overlap), never run. Needs ``onnxruntime``.
    """

    def __init__(self, model: torch.nn.Module, metadata: dict, threads: int | None = None):
        super().__init__()
        import onnxruntime

        self.reference = model
        if hasattr(model, "receptive_radius"):
            self.receptive_radius = model.receptive_radius
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        with tempfile.TemporaryDirectory() as folder:  # the session reads the file whole
            path = export_onnx(model, metadata, Path(folder) / "model.onnx")
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        batch = np.ascontiguousarray(image.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {"image": batch})[0])


def keras_autoencoder_to_torch(model, filters, residual: bool) -> torch.nn.Module:
    """The :class:`srlib.torch.models.Autoencoder` computing what the Keras ``model`` (built by
    :func:`srlib.keras.models.build_autoencoder` with the same ``filters`` and ``residual``)
    computes, in float32: how tutorial 1's network joins the zoo, which serves PyTorch models.

    The ten Conv2D layers are taken in the graph's order (``model.layers`` is topological), their
    (3, 3, in, out) kernels transposed to PyTorch's (out, in, 3, 3).
    """
    import keras

    from srlib.torch.models import Autoencoder

    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    twin = Autoencoder(filters, residual=residual)
    if len(convolutions) != len(twin.convs):
        raise ValueError(f"{model.name}: {len(convolutions)} convolutions, expected {len(twin.convs)} "
                         f"(not a build_autoencoder model?)")
    with torch.no_grad():
        for source, target in zip(convolutions, twin.convs):
            kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float32) for w in source.weights)
            if kernel.shape != (3, 3, target.in_channels, target.out_channels):
                raise ValueError(f"{model.name}: layer {source.name} has kernel {kernel.shape}, expected "
                                 f"(3, 3, {target.in_channels}, {target.out_channels}): other filters?")
            target.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            target.bias.copy_(torch.from_numpy(bias))
    return twin.eval()

