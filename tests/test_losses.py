"""Losses in PyTorch and Keras: same values, right minima, sane rankings, finite gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from srlib.keras import losses as lk  # noqa: E402
from srlib.degrade import add_gaussian_noise, gaussian_blur  # noqa: E402
from srlib.metrics import psnr, ssim  # noqa: E402
from srlib.torch import losses as lt  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402

# float32 through the same arithmetic in two frameworks: a few ulps per operation.
PARITY_RTOL = 1e-5
# The feature loss goes through 10 VGG convolutions (different kernels: oneDNN vs PyTorch).
FEATURE_PARITY_RTOL = 1e-4

PIXEL_LOSSES = ["mse", "l1", "charbonnier", "psnr", "ssim", "ms_ssim_l1", "hfen", "mse_hfen"]


@pytest.fixture(scope="module")
def batch():
    """A target batch of photos and a prediction: the target plus noise (NHWC float32 in [0, 1])."""
    target = np.stack([synthetic_photo(64, 64, seed=s) for s in range(2)])
    rng = np.random.default_rng(0)
    prediction = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
    return prediction, target


def torch_value(loss, prediction, target):
    nchw = lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2).copy())  # noqa: E731
    return loss(nchw(prediction), nchw(target)).item()


def keras_value(loss, prediction, target):
    return float(keras.ops.convert_to_numpy(loss(keras.ops.convert_to_tensor(target),
                                                 keras.ops.convert_to_tensor(prediction))))


@pytest.fixture(scope="module")
def feature_losses():
    return lt.FeatureLoss(), lk.FeatureLoss()


def make(name, framework):
    return (lt if framework == "torch" else lk).LOSSES[name]()


@pytest.mark.parametrize("name", PIXEL_LOSSES)
def test_parity_pixel_losses(batch, name):
    theirs, ours = torch_value(make(name, "torch"), *batch), keras_value(make(name, "keras"), *batch)
    assert ours == pytest.approx(theirs, rel=PARITY_RTOL)


def test_parity_feature_loss(batch, feature_losses):
    torch_loss, keras_loss = feature_losses
    theirs, ours = torch_value(torch_loss, *batch), keras_value(keras_loss, *batch)
    assert ours == pytest.approx(theirs, rel=FEATURE_PARITY_RTOL)
    # Every term agrees too, and the Gram term is not negligible.
    keras_terms = {k: float(np.mean(keras.ops.convert_to_numpy(v))) for k, v in keras_loss.term_values(
        keras.ops.convert_to_tensor(batch[1]), keras.ops.convert_to_tensor(batch[0])).items()}
    assert keras_terms.keys() == torch_loss.terms.keys()
    for key, value in torch_loss.terms.items():
        assert keras_terms[key] == pytest.approx(value, rel=FEATURE_PARITY_RTOL), key
    assert torch_loss.terms["gram_relu3_3"] > 1e-4 * theirs


def test_parity_gan_losses():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(4, 1)).astype(np.float32), rng.normal(size=(4, 1)).astype(np.float32)
    output, target = rng.random((4, 8, 8, 3), dtype=np.float32), rng.random((4, 8, 8, 3), dtype=np.float32)
    t = torch.from_numpy
    critic_torch = lt.critic_loss(t(real), t(fake)).item()
    critic_keras = float(keras.ops.convert_to_numpy(lk.critic_loss(keras.ops.convert_to_tensor(real),
                                                                   keras.ops.convert_to_tensor(fake))))
    assert critic_keras == pytest.approx(critic_torch, rel=PARITY_RTOL)
    generator_torch = lt.GeneratorLoss()(t(fake), t(output.transpose(0, 3, 1, 2).copy()),
                                         t(target.transpose(0, 3, 1, 2).copy())).item()
    generator_keras = float(keras.ops.convert_to_numpy(lk.generator_loss(
        keras.ops.convert_to_tensor(fake), keras.ops.convert_to_tensor(output), keras.ops.convert_to_tensor(target))))
    assert generator_keras == pytest.approx(generator_torch, rel=PARITY_RTOL)
    # A critic that is sure and right has a small loss; sure and wrong, a large one.
    assert lt.critic_loss(t(np.full((4, 1), 9.0, np.float32)), t(np.full((4, 1), -9.0, np.float32))) < 1e-3
    assert lt.critic_loss(t(np.full((4, 1), -9.0, np.float32)), t(np.full((4, 1), 9.0, np.float32))) > 8


@pytest.mark.parametrize("name", PIXEL_LOSSES)
def test_minimum_at_identical_inputs(batch, name):
    prediction, target = batch
    loss = make(name, "torch")
    same, different = torch_value(loss, target, target), torch_value(loss, prediction, target)
    if name == "psnr":
        assert same == pytest.approx(-100.0, abs=1e-3)  # 10 log10(eps), the floor
    elif name == "charbonnier":
        assert same == pytest.approx(1e-3, rel=1e-4)  # sqrt(eps^2)
    else:
        assert same == pytest.approx(0.0, abs=1e-6)
    assert different > same


def test_feature_loss_minimum(batch, feature_losses):
    prediction, target = batch
    torch_loss, _ = feature_losses
    assert torch_value(torch_loss, target, target) == pytest.approx(0.0, abs=1e-6)
    assert torch_value(torch_loss, prediction, target) > 0.01


@pytest.mark.parametrize("name", PIXEL_LOSSES + ["feature"])
def test_finite_gradients(batch, name, feature_losses):
    prediction, target = (torch.from_numpy(a.transpose(0, 3, 1, 2).copy()) for a in batch)
    prediction.requires_grad_(True)
    loss = feature_losses[0] if name == "feature" else make(name, "torch")
    loss(prediction, target).backward()
    assert torch.isfinite(prediction.grad).all() and prediction.grad.abs().sum() > 0


def test_hfen_and_ssim_rank_blur_worse_than_slight_noise():
    target = synthetic_photo(64, 64, seed=5)
    blurred = gaussian_blur(target, 1.5)
    noisy = add_gaussian_noise(target, 0.02, seed=0)
    for name in ("hfen", "ssim", "ms_ssim_l1"):
        loss = make(name, "torch")
        blur_value = torch_value(loss, blurred[None], target[None])
        noise_value = torch_value(loss, noisy[None], target[None])
        assert blur_value > noise_value, name


def test_ssim_and_psnr_losses_agree_with_the_metrics(batch):
    prediction, target = batch
    for index in range(2):
        p, t = prediction[index: index + 1], target[index: index + 1]
        assert 1 - torch_value(lt.SSIMLoss(), p, t) == pytest.approx(ssim(t[0], p[0]), abs=1e-5)
        assert -torch_value(lt.PSNRLoss(), p, t) == pytest.approx(psnr(t[0], p[0]), abs=1e-4)


def test_gradient_check_of_hand_written_losses():
    torch.manual_seed(0)
    target = torch.rand(1, 2, 24, 24, dtype=torch.float64)
    prediction = (target + 0.1 * torch.randn_like(target)).clamp(0, 1).requires_grad_(True)
    for loss in (lt.CharbonnierLoss(), lt.PSNRLoss(), lt.SSIMLoss().double(), lt.HFENLoss().double(),
                 lt.MSSSIML1Loss(num_scales=2, window_size=7).double()):
        # fast mode compares the analytical and numerical gradient along random directions: 2 passes
        # instead of 2 per input value, and still fails on a wrong backward
        assert torch.autograd.gradcheck(lambda p: loss(p, target), (prediction,), eps=1e-6, atol=1e-5,
                                        fast_mode=True), loss
    features = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lt.gram_matrix, (features,))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="differ"):
        lt.SSIMLoss()(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))
    with pytest.raises(ValueError, match="at least 44x44"):
        lt.MSSSIML1Loss()(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="layers must be among"):
        lt.FeatureLoss(layers=("relu9_9",), layer_weights=(1.0,), weights=None)


def test_weighted_sum_reports_its_terms(batch):
    loss = lt.mse_hfen_loss()
    total = torch_value(loss, *batch)
    assert set(loss.terms) == {"mse", "hfen"}
    assert total == pytest.approx(sum(loss.terms.values()), rel=1e-6)
    mse = torch_value(torch.nn.MSELoss(), *batch)
    assert loss.terms["mse"] == pytest.approx(mse, rel=1e-6)
    assert loss.terms["hfen"] == pytest.approx(10 * torch_value(lt.HFENLoss(), *batch), rel=1e-6)


def test_vgg_layer_scales_are_what_we_calibrated():
    from srlib.pretrained import VGG16_LAYER_SCALE
    from srlib.samples import load_split
    from srlib.torch.pretrained import vgg16_layer_scales

    measured = vgg16_layer_scales(load_split("train").values())
    for layer, value in VGG16_LAYER_SCALE.items():
        assert measured[layer] == pytest.approx(value, rel=1e-3), layer


def test_offline_vgg_is_identical_in_both_frameworks():
    from srlib.keras import pretrained as pretrained_keras
    from srlib.torch import pretrained as pretrained_torch

    image = synthetic_photo(64, 64, seed=9)[None]
    with torch.no_grad():
        theirs = pretrained_torch.vgg16_features()(pretrained_torch.caffe_preprocess(
            torch.from_numpy(image.transpose(0, 3, 1, 2).copy()))).numpy().transpose(0, 2, 3, 1)
    ours = keras.ops.convert_to_numpy(pretrained_keras.vgg16_features()(pretrained_keras.caffe_preprocess(
        keras.ops.convert_to_tensor(image))))
    assert theirs.shape == ours.shape == (1, 2, 2, 512)
    assert np.abs(theirs - ours).max() <= 1e-5 * np.abs(theirs).max()
    # The published ImageNet value of block1_conv1's first kernel weight (Keras/Caffe VGG-16).
    first = pretrained_torch.vgg16_features()[0].weight
    assert first[0, 0, 0, 0].item() == pytest.approx(0.42947057, abs=1e-7)


def test_offline_mobilenet_v2_knows_a_cat():
    from srlib.samples import SAMPLES
    from srlib.torch.pretrained import mobilenet_v2, mobilenet_v2_encoder

    image = torch.from_numpy(SAMPLES["chelsea"].load().transpose(2, 0, 1).copy())[None]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = mobilenet_v2().eval()((image - mean) / std)
    assert 281 <= int(logits.argmax()) <= 285  # ImageNet's domestic cats (tabby, tiger cat, ...)
    assert len(mobilenet_v2_encoder(weights=None)) == 19


def test_mobilenet_v2_encoder_gives_fastai_a_unet_with_skips():
    from fastai.vision.models.unet import DynamicUnet

    from srlib.torch.pretrained import mobilenet_v2_encoder

    encoder = torch.nn.Sequential(*list(mobilenet_v2_encoder(weights=None).children())[:-1])
    unet = DynamicUnet(encoder, n_out=3, img_size=(64, 64))
    parameters = sum(p.numel() for p in unet.parameters())
    assert 7e6 < parameters < 9e6  # about 7.8 M with skips; without them fastai builds ~100 M
    with torch.no_grad():
        assert unet(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)
