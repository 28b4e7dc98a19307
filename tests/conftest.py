"""Shared fixtures: small synthetic photographs, so unit tests run in seconds."""
import numpy as np
import pytest


def synthetic_photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A float32 HxWx3 image in [0, 1] with smooth gradients, edges and a little texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for c in range(3):
        phase = rng.uniform(0, 2 * np.pi)
        smooth = 0.5 + 0.3 * np.sin(4 * x + 3 * y + phase)
        edges = 0.2 * ((x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.05)
        channels.append(smooth + edges + 0.03 * rng.standard_normal((height, width)))
    return np.clip(np.stack(channels, axis=2), 0, 1).astype(np.float32)


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo()


@pytest.fixture
def photo_uint8(photo) -> np.ndarray:
    return np.round(photo * 255).astype(np.uint8)


#: A zoo entry for an EDSR of random weights, 4 features and 1 block: the smallest model a test can use.
TINY_METADATA = {"architecture": {"class": "EDSR", "arguments": {"scale": 2, "features": 4, "blocks": 1}},
                 "scale": 2, "input": "lowres", "degradation": {"name": "bicubic"}, "data": "random weights",
                 "training": {"seconds": 0}, "validation": {"psnr": 0.0, "bicubic_psnr": 0.0}}


@pytest.fixture
def tiny_model(tmp_path):
    """The path of a tiny x2 EDSR (seeded random weights) written into a zoo folder of its own."""
    import torch  # here, not at the top: collecting torch-free tests stays light

    from srlib import zoo
    from srlib.torch.edsr import EDSR

    torch.manual_seed(0)
    return zoo.export(EDSR(scale=2, features=4, blocks=1), "tiny", TINY_METADATA, folder=tmp_path / "zoo")


@pytest.fixture
def camera_pair(tiny_model):
    """A zoo folder with ``tiny`` (the faithful model) and ``tiny-camera`` (other seeded weights of the
    same architecture, naming ``tiny`` as its faithful partner, default strength 0.75)."""
    import torch

    from srlib import zoo
    from srlib.torch.edsr import EDSR

    torch.manual_seed(1)
    metadata = {**TINY_METADATA, "degradation": {"name": "ladder-mix"},
                "faithful": {"model": "tiny", "default_strength": 0.75}}
    return zoo.export(EDSR(scale=2, features=4, blocks=1), "tiny-camera", metadata, folder=tiny_model.parent)
