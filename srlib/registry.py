"""Things built by name: a registry maps a name to where its builder lives, imported on first use.

A zoo model's metadata says ``{"class": "EDSR", "arguments": {...}}``; :data:`ARCHITECTURES`
turns that name into the class without this module importing a framework, so ``srlib --help``
and the NumPy core stay free of PyTorch:

    from srlib.registry import ARCHITECTURES
    ARCHITECTURES.names()                     # ('Autoencoder', 'ConditionalVAE', 'Denoiser', 'EDSR', 'ResidualUnet')
    model = ARCHITECTURES.build("EDSR", scale=2, features=64, blocks=16)

A new architecture or degradation is one :meth:`Registry.register` line here, naming its module
and builder as ``"package.module:attribute"`` (BasicSR's ``ARCH_REGISTRY`` does the same job with
decorators, which need the module imported first). An unknown name is a ``ValueError`` that lists
the known ones. The facts registered with a name select groups of names without importing
anything: ``DEGRADATIONS.names(scaled=True)`` are the tasks an x2/x4 model trains and is scored on.
"""
from __future__ import annotations

import importlib


class Registry:
    """Names of one ``kind`` (``"architecture"``...) mapped to ``"module:attribute"`` targets and
    a few facts about each (``info``), resolved with :func:`importlib.import_module` when first used."""

    def __init__(self, kind: str):
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._info: dict[str, dict] = {}

    def register(self, name: str, target: str, **info) -> None:
        """Register ``name`` as ``target`` (``"package.module:attribute"``), with facts ``info``.
        A name registered twice is an error: one definition of each."""
        if name in self._targets:
            raise ValueError(f"{self.kind} {name!r} is registered already (as {self._targets[name]})")
        if target.count(":") != 1:
            raise ValueError(f"{self.kind} {name!r}: the target must read 'package.module:attribute', not {target!r}")
        self._targets[name], self._info[name] = target, info

    def names(self, **facts) -> tuple[str, ...]:
        """The registered names in the order they were registered; with ``facts``, only those
        registered with those values (a fact not registered with a name counts as ``False``)."""
        return tuple(name for name, info in self._info.items()
                     if all(info.get(key, False) == value for key, value in facts.items()))

    def __contains__(self, name) -> bool:
        return name in self._targets

    def _checked(self, name: str) -> str:
        if name not in self._targets:
            raise ValueError(f"unknown {self.kind} {name!r} (expected one of {', '.join(self.names())})")
        return self._targets[name]

    def info(self, name: str) -> dict:
        """The facts registered with ``name`` (a copy)."""
        self._checked(name)
        return dict(self._info[name])

    def get(self, name: str):
        """The builder of ``name``, its module imported now."""
        module, attribute = self._checked(name).split(":")
        return getattr(importlib.import_module(module), attribute)

    def build(self, name: str, **arguments):
        """``get(name)(**arguments)``."""
        return self.get(name)(**arguments)


#: The networks the zoo can rebuild from a metadata's ``architecture`` (``class``, ``arguments``).
ARCHITECTURES = Registry("architecture")
ARCHITECTURES.register("Autoencoder", "srlib.torch.models:Autoencoder", framework="torch")
ARCHITECTURES.register("ConditionalVAE", "srlib.torch.vae:ConditionalVAE", framework="torch")
ARCHITECTURES.register("Denoiser", "srlib.torch.diffusion:Denoiser", framework="torch", sampled=True)
ARCHITECTURES.register("EDSR", "srlib.torch.edsr:EDSR", framework="torch")
ARCHITECTURES.register("ResidualUnet", "srlib.torch.models:build_unet", framework="torch")


#: The degradations :func:`srlib.degrade.degrade` applies by name, in the order ``srlib degrade
#: --degradation`` lists them. Facts: ``scale`` (it takes the scale), ``scaled`` (its output is its
#: input reduced by exactly the scale: a task an x2/x4 model is trained and scored on), ``random``
#: (it takes a seed), ``rung`` (a rung of the damage ladder, mildest first), ``camera`` (a camera
#: model's training damage), ``arguments`` (keyword arguments fixed by the name) and ``suits`` (for a
#: zoo model trained on it, the photos it suits: ``srlib models``' last column).
DEGRADATIONS = Registry("degradation")
_CAMERA_PHOTOS = "camera and phone photos, scans: blur, sensor noise, JPEG"
DEGRADATIONS.register("bicubic", "srlib.degrade:bicubic", scale=True, scaled=True,
                      suits="clean images reduced by MATLAB's or Pillow's antialiased bicubic (the published "
                            "benchmarks' reduction); not by OpenCV's cv2.resize, nor camera photos")
DEGRADATIONS.register("downup", "srlib.degrade:downup", scale=True)
DEGRADATIONS.register("crappify", "srlib.degrade:crappify", random=True, suits="small web images with JPEG blocks (x2)")
DEGRADATIONS.register("realistic", "srlib.degrade:realistic", scale=True, scaled=True, random=True)
DEGRADATIONS.register("second-order", "srlib.degrade:second_order", scale=True, scaled=True, random=True, camera=True,
                      suits=_CAMERA_PHOTOS)
DEGRADATIONS.register("mixed-order", "srlib.degrade:mixed_order", scale=True, scaled=True, random=True, camera=True,
                      suits=_CAMERA_PHOTOS)
for _level in ("clean", "mild", "moderate", "heavy"):
    DEGRADATIONS.register(_level, "srlib.degrade:ladder", scale=True, scaled=True, random=True, rung=True,
                          arguments={"level": _level})
DEGRADATIONS.register("ladder-mix", "srlib.degrade:ladder_mix", scale=True, scaled=True, random=True, camera=True,
                      suits="camera and phone photos, scans, and images reduced by any program (MATLAB or Pillow "
                            "bicubic, OpenCV linear, cubic, area, nearest): blur, sensor noise, JPEG")


#: The single-image losses of tutorial 1's loss study, by name, once for both frameworks: ``name:
#: (PyTorch builder, Keras builder)``, the two kept numerically equal by tests/test_losses.py.
#: :data:`TORCH_LOSSES` and :data:`KERAS_LOSSES` resolve them (``srlib.torch.losses.LOSSES`` and
#: ``srlib.keras.losses.LOSSES`` are their ``{name: builder}`` views).
LOSS_BUILDERS = {
    "mse": ("torch.nn:MSELoss", "srlib.keras.losses:MeanSquaredError"),
    "l1": ("torch.nn:L1Loss", "srlib.keras.losses:MeanAbsoluteError"),
    "charbonnier": ("srlib.torch.losses:CharbonnierLoss", "srlib.keras.losses:CharbonnierLoss"),
    "psnr": ("srlib.torch.losses:PSNRLoss", "srlib.keras.losses:PSNRLoss"),
    "ssim": ("srlib.torch.losses:SSIMLoss", "srlib.keras.losses:SSIMLoss"),
    "ms_ssim_l1": ("srlib.torch.losses:MSSSIML1Loss", "srlib.keras.losses:MSSSIML1Loss"),
    "hfen": ("srlib.torch.losses:HFENLoss", "srlib.keras.losses:HFENLoss"),
    "mse_hfen": ("srlib.torch.losses:mse_hfen_loss", "srlib.keras.losses:mse_hfen_loss"),
    "feature": ("srlib.torch.losses:FeatureLoss", "srlib.keras.losses:FeatureLoss"),
}
TORCH_LOSSES = Registry("PyTorch loss")
KERAS_LOSSES = Registry("Keras loss")
for _name, (_torch, _keras) in LOSS_BUILDERS.items():
    TORCH_LOSSES.register(_name, _torch, framework="torch")
    KERAS_LOSSES.register(_name, _keras, framework="keras")
