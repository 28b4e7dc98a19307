"""Tutorials 2-3's library code: the U-Net builder, checkpoints, the perceptual distance."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srlib import unet_study  # noqa: E402
from srlib.checkpoints import load_metadata, load_weights, save_weights  # noqa: E402
from srlib.degrade import add_gaussian_noise, gaussian_blur  # noqa: E402
from srlib.evaluation import evaluate  # noqa: E402
from srlib.models_torch import ResidualUnet  # noqa: E402
from srlib.perceptual import vgg_distance  # noqa: E402
from srlib.train_torch import predict_image  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    images = {f"p{s}": synthetic_photo(96, 96, seed=s) for s in range(2)}
    config = unet_study.UNetConfig(patch_size=32, batch_size=2, steps_per_epoch=2, frozen_epochs=1,
                                   unfrozen_epochs=1, perceptual_epochs=1)
    dls, inputs, targets = unet_study.make_data(config, images, images, device="cpu")
    return config, dls, inputs, targets


def test_unet_learner_is_residual_split_and_frozen(tiny):
    config, dls, inputs, _ = tiny
    learn = unet_study.pixel_learner(config, dls, encoder_weights=None)
    assert isinstance(learn.model, ResidualUnet)
    parameters = sum(p.numel() for p in learn.model.parameters())
    assert 7.5e6 < parameters < 8.2e6
    groups = learn.splitter(learn.model)
    assert len(groups) == 2 and sum(p.numel() for p in groups[0]) > 1e6  # the encoder
    learn.freeze()
    assert not any(p.requires_grad for p in learn.model.unet[0].parameters() if p.ndim > 1)
    # Any size goes through: padded to a multiple of 32 and cropped back.
    output = predict_image(learn.model, synthetic_photo(45, 70))
    assert output.shape == (45, 70, 3) and 0 <= output.min() and output.max() <= 1


def test_both_stages_train_and_save(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(unet_study, "MODELS_DIR", tmp_path)
    config, dls, inputs, targets = tiny
    learn = unet_study.pixel_learner(config, dls, encoder_weights=None)
    timing = unet_study.train_pixel(learn, config, progress=False)
    assert timing["steps"] == 4 and np.isfinite(learn.recorder.losses[-1].item())
    path = unet_study.save_stage(learn, "pixel", "test", config, None, timing)
    assert load_metadata(path)["config"]["patch_size"] == 32
    perceptual = unet_study.perceptual_learner(config, dls, start_from=path)
    for a, b in zip(perceptual.model.parameters(), learn.model.parameters()):
        assert torch.equal(a, b)  # fine-tuning starts from the pixel model
    unet_study.train_perceptual(perceptual, config, progress=False)
    values = perceptual.recorder.values[-1]
    assert len(values) == 2 + 7  # train loss, valid loss, pixel + 3 feature + 3 Gram terms
    assert sum(values[2:]) == pytest.approx(values[1], rel=1e-3)


def test_checkpoints_round_trip_and_refuse_bad_files(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
    path = save_weights(model, tmp_path / "m.safetensors", {"scale": 2, "psnr": 30.5})
    copy = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
    assert load_weights(copy, path) == {"scale": 2, "psnr": 30.5}
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), copy.parameters()))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))
    with pytest.raises(ValueError, match=r"m\.safetensors.*does not fit"):
        load_weights(other, path)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:100])
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(ValueError, match="broken.safetensors"):
        load_weights(copy, broken)
    with pytest.raises(FileNotFoundError):
        load_weights(copy, tmp_path / "none.safetensors")
    with pytest.raises(ValueError, match="safetensors"):
        save_weights(model, tmp_path / "m.pth", {})
    assert json.loads((tmp_path / "m.json").read_text())["scale"] == 2


def test_vgg_distance_orders_degradations():
    image = synthetic_photo(64, 64, seed=4)
    assert vgg_distance(image, image) == 0.0
    blurred, noisy = gaussian_blur(image, 2.0), add_gaussian_noise(image, 0.01, seed=0)
    assert vgg_distance(image, blurred) > vgg_distance(image, noisy) > 0
    with pytest.raises(ValueError, match="differ in shape"):
        vgg_distance(image, image[:-1])
    table = evaluate({"a": image}, {"blur": {"a": blurred}}, crop_border=4, extra_metrics={"vgg": vgg_distance})
    assert set(table.mean()["blur"]) == {"psnr", "ssim", "hfen", "vgg"}
    assert "VGG distance ↓" in table.to_markdown()
