"""What tutorials 2-4 take from the library: the paired data, the U-Net learner, the feature loss as
fastai metrics, checkpoints, the perceptual distance. (The lessons themselves are in the
notebooks, which the test command runs too.)"""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from srlib.degrade import add_gaussian_noise, gaussian_blur  # noqa: E402
from srlib.evaluation import evaluate  # noqa: E402
from srlib.torch import losses as losses_torch  # noqa: E402
from srlib.torch.checkpoints import load_metadata, load_weights, save_weights  # noqa: E402
from srlib.torch.data import paired_data  # noqa: E402
from srlib.torch.models import ResidualUnet, build_unet, unet_learner  # noqa: E402
from srlib.torch.perceptual import mobilenet_distance, vgg_distance  # noqa: E402
from srlib.torch.training import predict_image  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    images = {f"p{s}": synthetic_photo(96, 96, seed=s) for s in range(2)}
    return paired_data(images, images, "crappify", scale=1, patch_size=32, batch_size=2, steps_per_epoch=2,
                       highres_size=80, seed=3, device="cpu")


def test_paired_data_is_seeded_and_shrinks_the_photos(tiny):
    dls, inputs, targets = tiny
    assert len(dls.train) == 2 and len(dls.valid.dataset) == 4
    lowres, highres = dls.train.one_batch()
    assert lowres.shape == highres.shape == (2, 3, 32, 32)
    assert targets["p0"].shape == inputs["p0"].shape == (80, 80, 3)  # shorter side 80, inputs at full size
    again = paired_data({f"p{s}": synthetic_photo(96, 96, seed=s) for s in range(2)}, {"p0": synthetic_photo(96, 96)},
                        "crappify", 1, 32, 2, 2, 80, seed=3, device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(again[0].train.one_batch(), (lowres, highres)))
    assert np.array_equal(again[1]["p0"], inputs["p0"])


def test_unet_learner_is_residual_split_and_frozen(tiny):
    dls, inputs, _ = tiny
    learn = unet_learner(dls, nn.MSELoss(), encoder_weights=None)
    assert isinstance(learn.model, ResidualUnet)
    parameters = sum(p.numel() for p in learn.model.parameters())
    assert 7.5e6 < parameters < 8.2e6
    groups = learn.splitter(learn.model)
    assert len(groups) == 2 and sum(p.numel() for p in groups[0]) > 1e6  # the encoder
    learn.freeze()
    assert not any(p.requires_grad for p in learn.model.unet[0].parameters() if p.ndim > 1)
    assert set(build_unet().state_dict()) == set(learn.model.state_dict())  # the zoo loads into this
    # Any size goes through: padded to a multiple of 32 and cropped back.
    output = predict_image(learn.model, synthetic_photo(45, 70))
    assert output.shape == (45, 70, 3) and 0 <= output.min() and output.max() <= 1


def test_feature_loss_terms_as_metrics_add_up_to_the_loss(tiny):
    dls, _, _ = tiny
    loss = losses_torch.FeatureLoss(gram_weight=500.0)
    learn = unet_learner(dls, loss, metrics=losses_torch.loss_term_metrics(loss), encoder_weights=None)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 1e-3)
    values = learn.recorder.values[-1]
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


def test_mobilenet_distance_is_the_same_recipe_on_another_network():
    image = synthetic_photo(64, 80, seed=5)
    blurred, noisy = gaussian_blur(image, 2.0), add_gaussian_noise(image, 0.01, seed=0)
    assert mobilenet_distance(image, image) == 0.0
    assert mobilenet_distance(image, blurred) > mobilenet_distance(image, noisy) > 0
    assert mobilenet_distance(image, blurred) == pytest.approx(mobilenet_distance(blurred, image), rel=1e-5)
    # recomputed independently: torchvision's network, ImageNet normalisation, unit-normalised channels
    from srlib.torch.pretrained import mobilenet_v2

    network = mobilenet_v2("offline").features.eval()
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (torch.from_numpy(np.stack([image, blurred]).transpose(0, 3, 1, 2).copy()) - mean) / std
    distances = []
    with torch.no_grad():
        for index in range(18):
            x = network[index](x)
            if index in (1, 3, 6, 13, 17):
                a, b = (x[i] / (x[i].norm(dim=0, keepdim=True) + 1e-10) for i in (0, 1))
                distances.append(float(((a - b) ** 2).sum(dim=0).mean()))
    assert mobilenet_distance(image, blurred) == pytest.approx(np.mean(distances), rel=1e-5)
