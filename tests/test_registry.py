"""srlib.registry: names resolved to builders on first use, without importing a framework before."""
import subprocess
import sys

import numpy as np
import pytest

from srlib.registry import ARCHITECTURES, DEGRADATIONS, KERAS_LOSSES, TORCH_LOSSES, Registry


def test_a_registry_builds_by_name_and_refuses_unknown_or_repeated_names():
    registry = Registry("thing")
    registry.register("ordered", "collections:OrderedDict", kind="mapping")
    assert registry.names() == ("ordered",) and "ordered" in registry and "other" not in registry
    assert registry.build("ordered", a=1) == {"a": 1}
    assert registry.info("ordered") == {"kind": "mapping"}
    with pytest.raises(ValueError, match=r"unknown thing 'other' \(expected one of ordered\)"):
        registry.build("other")
    with pytest.raises(ValueError, match="registered already"):
        registry.register("ordered", "collections:Counter")
    with pytest.raises(ValueError, match="package.module:attribute"):
        registry.register("bad", "collections.Counter")
    registry.register("counter", "collections:Counter", kind="multiset", counts=True)
    registry.register("deque", "collections:deque")
    assert registry.names() == ("ordered", "counter", "deque")  # the order registered
    assert registry.names(counts=True) == ("counter",) and registry.names(counts=False) == ("ordered", "deque")
    assert registry.names(kind="mapping", counts=False) == ("ordered",)


def test_the_degradations_are_named_once_and_built_by_name():
    """srlib.degrade, the zoo and the command line read their lists of degradations from the registry."""
    from srlib import degrade, zoo

    assert degrade.LADDER == DEGRADATIONS.names(rung=True) == tuple(degrade.LADDER_MIX)
    assert set(degrade.RUNGS) | {"heavy"} == set(degrade.LADDER)
    assert zoo.SCALED_DEGRADATIONS == DEGRADATIONS.names(scaled=True)
    assert zoo.CAMERA_DEGRADATIONS == DEGRADATIONS.names(camera=True) and set(zoo.CAMERA_DEGRADATIONS) <= set(zoo.SUITED_PHOTOS)
    shipped = {metadata["degradation"]["name"] for metadata in zoo.list_models().values()}
    assert shipped <= set(zoo.SUITED_PHOTOS), f"no 'suits' registered for {shipped - set(zoo.SUITED_PHOTOS)}"
    assert DEGRADATIONS.get("mild") is degrade.ladder and DEGRADATIONS.info("mild")["arguments"] == {"level": "mild"}
    with pytest.raises(ValueError, match="unknown degradation 'blurry'.*bicubic, downup, crappify"):
        degrade.degrade(np.zeros((8, 8, 3), np.float32), "blurry")


def test_every_registered_architecture_builds_and_the_zoo_uses_them():
    from srlib import zoo

    assert zoo.ARCHITECTURES == ARCHITECTURES.names()
    arguments = {"Autoencoder": {}, "ConditionalVAE": {"channels": 8, "latent_channels": 2},
                 "Denoiser": {"scale": 2, "features": 8, "blocks": 1, "time_dim": 8},
                 "EDSR": {"scale": 2, "features": 4, "blocks": 1}, "ResidualUnet": {}}
    assert set(arguments) == set(ARCHITECTURES.names())
    for name in ("ConditionalVAE", "Denoiser", "EDSR"):
        assert type(ARCHITECTURES.build(name, **arguments[name])).__name__ == name
    sampler = {"train_steps": 4, "kappa": 1.0, "num_steps": 2, "seed": 0, "deterministic": False}
    upscaler = zoo.build_model({"architecture": {"class": "Denoiser", "arguments": arguments["Denoiser"]},
                                "sampler": sampler})
    assert type(upscaler).__name__ == "DiffusionUpscaler" and upscaler.settings.num_steps == 2
    with pytest.raises(ValueError, match="unknown architecture 'UNet3000'"):
        zoo.build_model({"architecture": {"class": "UNet3000", "arguments": {}}})


def test_the_losses_are_named_once_for_both_frameworks():
    """tutorial 1's loss study: one list of names, a PyTorch and a Keras builder for each."""
    import torch

    from srlib.keras import losses as losses_keras
    from srlib.torch import losses as losses_torch

    assert TORCH_LOSSES.names() == KERAS_LOSSES.names() == tuple(losses_torch.LOSSES) == tuple(losses_keras.LOSSES)
    assert losses_torch.LOSSES["l1"] is torch.nn.L1Loss and losses_torch.LOSSES["hfen"] is losses_torch.HFENLoss
    assert losses_keras.LOSSES["l1"] is losses_keras.MeanAbsoluteError
    assert losses_keras.LOSSES["feature"] is losses_keras.FeatureLoss
    assert {TORCH_LOSSES.info(name)["framework"] for name in TORCH_LOSSES.names()} == {"torch"}


def test_the_registry_names_architectures_degradations_and_losses_without_importing_them():
    script = ("import sys; from srlib.registry import ARCHITECTURES, DEGRADATIONS; print(len(ARCHITECTURES.names())); "
              "DEGRADATIONS.names(scaled=True); from srlib.registry import KERAS_LOSSES; KERAS_LOSSES.names(); "
              "print(any(name in sys.modules for name in ('torch', 'keras', 'tensorflow', 'scipy', 'srlib.degrade')))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == [str(len(ARCHITECTURES.names())), "False"]
