"""Each tutorial's from-scratch code computes what the library's version does (the checks that
used to sit in the lessons; the lessons keep only the ones that teach)."""
import numpy as np
import pytest

from srlib import metrics
from srlib.arrays import to_float
from tests.notebook_code import definitions
from tests.conftest import synthetic_photo


@pytest.fixture(scope="module")
def measuring():
    return definitions("07_measuring_sr")


def test_measuring_lr_psnr_is_the_library_s(measuring):
    highres = to_float(synthetic_photo(64, 48, seed=3))
    lowres = metrics_lowres = highres[::4, ::4]
    output = np.clip(highres + np.random.default_rng(0).normal(0, 0.02, highres.shape), 0, 1).astype(np.float32)
    assert abs(measuring.lr_psnr_here(lowres, output) - metrics.lr_psnr(metrics_lowres, output, 4)) < 1e-9


def test_measuring_bootstrap_is_the_library_s(measuring):
    a, b = np.array([31.0, 29.5, 33.2, 30.1, 28.7]), np.array([30.2, 29.9, 32.0, 29.0, 28.8])
    here = measuring.bootstrap_interval(a - b, 2000, 0.95, 7)
    library = metrics.paired_bootstrap(a, b, 2000, 0.95, 7)
    assert np.allclose(here, (library["low"], library["high"]))
    assert measuring.sign_flip_p_value(np.ones(5)) == pytest.approx(2 / 32)


@pytest.fixture(scope="module")
def unet_pixel():
    from types import SimpleNamespace

    settings = SimpleNamespace(degradation="crappify", scale=1, highres_size=64, batch_size=2, fresh_damage=True,
                               self_attention=False, precision="fp32", seed=5, patch_size=32, steps_per_epoch=2)
    return definitions("02_unet_pixel_loss", CONFIG=settings), settings


def test_unet_pixel_data_is_the_library_s(unet_pixel):
    """Tutorial 2 builds its loaders step by step; tutorials 3 and 4 call srlib.torch.data.paired_data."""
    import torch

    from srlib import patches
    from srlib.torch import data as data_torch

    notebook, settings = unet_pixel
    train = {f"photo{i}": synthetic_photo(96, 128, seed=i) for i in range(2)}
    valid = {"valid": synthetic_photo(80, 96, seed=9)}
    ours, our_inputs, our_targets = notebook.crappified_data(patches.tile_pyramid(train, settings.highres_size), valid,
                                                             torch.device("cpu"))
    theirs, their_inputs, their_targets = data_torch.paired_data(
        train, valid, degradation=settings.degradation, scale=settings.scale, patch_size=settings.patch_size,
        batch_size=settings.batch_size, steps_per_epoch=settings.steps_per_epoch, highres_size=settings.highres_size,
        seed=settings.seed, device=torch.device("cpu"), fresh_damage=settings.fresh_damage)
    for _ in range(2):  # two epochs: the second draws new crops and new damage in both
        for a, b in zip(ours.train, theirs.train):
            assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(our_inputs[n], their_inputs[n]) and np.array_equal(our_targets[n], their_targets[n])
               for n in valid)


def test_unet_pixel_learner_is_the_library_s(unet_pixel):
    """The zoo's U-Net (srlib.torch.models.unet_learner) is tutorial 2's, weight for weight."""
    import torch
    from torch import nn

    from srlib import config
    from srlib.torch import data as data_torch, models as models_torch

    notebook, settings = unet_pixel
    train = {"photo": synthetic_photo(96, 128, seed=1)}
    dls, _, _ = data_torch.paired_data(train, {"valid": synthetic_photo(64, 64, seed=2)}, degradation="crappify",
                                       scale=1, patch_size=32, batch_size=2, steps_per_epoch=1, highres_size=64,
                                       seed=0, device=torch.device("cpu"))
    ours = notebook.build_learner(dls, nn.MSELoss())
    config.set_seed(settings.seed)
    theirs = models_torch.unet_learner(dls, nn.MSELoss(), self_attention=False)
    assert all(torch.equal(a, b) for a, b in zip(ours.model.state_dict().values(), theirs.model.state_dict().values()))
    batch = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours.model.eval()(batch), theirs.model.eval()(batch))


def test_autoencoder_is_the_library_s():
    """Tutorial 1 writes the original's auto-encoder in Keras; the zoo and the benchmarks build it
    with srlib.keras.models.build_autoencoder: given the same weights, the same outputs."""
    from srlib.keras import models as models_keras

    notebook = definitions("01_autoencoder_keras")
    batch = np.stack([synthetic_photo(32, 32, seed=seed) for seed in range(2)])
    for residual in (False, True):
        ours = notebook.build_autoencoder((4, 8, 16), residual=residual)
        library = models_keras.build_autoencoder((4, 8, 16), residual=residual)
        library.set_weights(ours.get_weights())
        assert ours.count_params() == library.count_params()
        np.testing.assert_allclose(np.asarray(ours(batch)), np.asarray(library(batch)), atol=1e-6)
    assert notebook.build_autoencoder((64, 128, 256)).count_params() == 1_110_403  # the original's


def test_vae_model_and_loss_are_the_library_s():
    """Tutorial 5 writes the conditional VAE and its loss; the zoo and the benchmarks use srlib.torch.vae's."""
    import torch

    from srlib import config
    from srlib.torch import vae

    notebook = definitions("05_vae")
    lowres, highres = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)  # the input is bicubic-upsampled
    config.set_seed(3)
    ours = notebook.ConditionalVAE(8, 2)
    config.set_seed(3)
    library = vae.ConditionalVAE(8, 2, prior="learned")
    assert list(ours.state_dict()) == list(library.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), library.state_dict().values()))
    with torch.no_grad():  # a prior that is no longer N(0, I), as after training
        for model in (ours, library):
            model.prior[-1].bias.copy_(torch.linspace(-0.5, 0.5, 4))
    prior, library_prior = ours.prior_statistics(lowres), library.prior_statistics(lowres)
    assert all(torch.allclose(a, b) for a, b in zip(prior, library_prior)) and prior[0].abs().max() > 0
    assert torch.allclose(ours.decode(lowres), library.decode(lowres))  # at the prior's mean
    torch.manual_seed(0)
    prediction, mu, logvar = ours(lowres, highres)
    torch.manual_seed(0)
    library_prediction, library_mu, library_logvar = library(lowres, highres)
    assert torch.allclose(prediction, library_prediction)
    for weight in (0.0, 0.02):
        loss, reconstruction, kl = notebook.vae_loss(prediction, highres, mu, logvar, *prior, weight)
        library_loss, terms = vae.vae_loss(library_prediction, highres, library_mu, library_logvar, weight,
                                           *library_prior)
        assert torch.allclose(loss, library_loss)
        assert reconstruction.item() == pytest.approx(terms["reconstruction"], rel=1e-6)
        assert kl.item() == pytest.approx(terms["kl"], rel=1e-6)
    normal = notebook.ConditionalVAE(8, 2, prior="normal")  # the MSE model's: z = 0
    assert not torch.any(normal.prior_statistics(lowres)[0]) and not hasattr(normal, "prior")


@pytest.fixture(scope="module")
def classic():
    return definitions("06_classic_sr")


def test_classic_edsr_is_the_library_s(classic):
    """Tutorial 6 writes EDSR-baseline; the zoo's models load into srlib.torch.edsr.EDSR."""
    import torch

    from srlib.torch import edsr

    for scale in (2, 4):
        ours, library = classic.EDSR(scale, features=16, blocks=2), edsr.EDSR(scale, features=16, blocks=2)
        library.load_state_dict(ours.state_dict())
        lowres = torch.rand(1, 3, 12, 10)
        with torch.no_grad():
            assert torch.allclose(ours(lowres), library(lowres), atol=1e-6)
        assert edsr.count_parameters(classic.EDSR(scale)) == edsr.count_parameters(edsr.EDSR(scale))


def test_classic_crops_are_the_trainer_s(classic):
    """The notebook's sample_batch draws, from the same seed, the crops srlib.train_sr.CropSampler does."""
    import torch

    from srlib import train_sr

    pairs = train_sr.make_pairs({f"photo{i}": synthetic_photo(64 + 8 * i, 80, seed=i) for i in range(3)}, 2)
    ours = classic.sample_batch(pairs, 5, 12, 2, torch.Generator().manual_seed(4))
    library = train_sr.CropSampler(pairs, 2, 12, seed=4).batch(5)
    assert ours[0].shape == (5, 3, 12, 12) and ours[1].shape == (5, 3, 24, 24)
    assert all(torch.equal(a, b) for a, b in zip(ours, library))


def test_classic_self_ensemble_is_the_zoo_s(classic):
    from srlib import zoo
    from srlib.torch import edsr

    model = edsr.EDSR(2, features=8, blocks=1).eval()
    lowres = to_float(synthetic_photo(20, 26, seed=6))
    ours = classic.self_ensemble(model, lowres, 2, precision="fp32")
    library = zoo.upscale(model, {"scale": 2, "input": "lowres"}, lowres, tile=None, self_ensemble=True,
                          precision="fp32")
    assert ours.shape == (40, 52, 3)
    assert np.allclose(ours, library, atol=1e-5)


def test_classic_camera_damage_is_the_ladder_s(classic):
    """Tutorial 6's camera_like, with the mild and the moderate ranges, draws what
    srlib.degrade.ladder draws at those rungs, from the same seed."""
    from srlib import degrade

    photos = [to_float(synthetic_photo(48, 64, seed=seed)) for seed in range(3)]
    for level, ranges in (("mild", classic.MILD), ("moderate", classic.MODERATE)):
        assert ranges == {key: getattr(degrade.RUNGS[level], key) for key in ranges}
        for index, photo in enumerate(photos):
            ours = classic.camera_like(photo, 4, np.random.default_rng([0, index]), **ranges)
            assert ours.shape == (12, 16, 3)
            assert np.array_equal(ours, degrade.ladder(photo, level, 4, seed=[0, index]))


def test_texture_probes_critic_is_tutorial_4_s():
    """benchmarks/texture_probes.py plays tutorial 4's game in plain PyTorch with a copy of its
    critic: the same layers, so the same weights from the same seed."""
    import sys

    import torch

    from srlib import config
    from course.paths import PROJECT_ROOT

    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    import texture_probes

    notebook = definitions("04_gan")
    config.set_seed(0)
    ours = texture_probes.patch_critic(8)
    config.set_seed(0)
    theirs = notebook.patch_critic(8)
    assert [tuple(value.shape) for value in ours.state_dict().values()] == \
        [tuple(value.shape) for value in theirs.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()))
    assert str(ours) == str(theirs)


@pytest.fixture(scope="module")
def diffusion_lesson():
    return definitions("08_diffusion_sr")


def test_diffusion_schedule_denoiser_and_sampler_are_the_library_s(diffusion_lesson):
    import torch

    from srlib.torch import diffusion

    etas = diffusion_lesson.shifting_schedule(15, 1.0)
    assert torch.allclose(etas, diffusion.residual_shift_schedule(15, 1.0))
    torch.manual_seed(0)
    ours = diffusion_lesson.Denoiser(scale=4, features=8, blocks=2, time_dim=8).eval()
    library = diffusion.Denoiser(scale=4, features=8, blocks=2, time_dim=8).eval()
    library.load_state_dict(ours.state_dict())
    lowres = torch.rand(2, 3, 6, 5)
    upsampled = diffusion.upsample(lowres, 4)
    timestep = torch.tensor([1, 15])
    assert torch.allclose(ours(upsampled, upsampled, timestep), library(upsampled, upsampled, timestep), atol=1e-6)
    for num_steps in (1, 4, 15):
        here = diffusion_lesson.sample(ours, lowres, etas, 1.0, num_steps, torch.Generator().manual_seed(3))
        there = diffusion.sample(library, lowres, etas, 1.0, num_steps, generator=torch.Generator().manual_seed(3))
        assert torch.allclose(here, there, atol=1e-5), num_steps
    highres = torch.rand(2, 3, 24, 20)
    eta = torch.tensor([0.2, 0.9])
    noise = torch.randn(highres.shape)
    torch.testing.assert_close(diffusion_lesson.forward_sample(highres, upsampled, eta, 1.0, noise),
                               diffusion.forward_sample(highres, upsampled, eta, 1.0, noise=noise))


def test_diffusion_lesson_s_straight_path_and_its_euler_sampler(diffusion_lesson):
    """Tutorial 8's rectified flow: the path's marginal at time t is (1 - t) x0 + t y0 with noise
    kappa * t, and with the true x0 every Euler step lands on the straight line from the start to
    x0 (the velocity is constant along it), ending at x0 for any number of steps."""
    import torch

    from srlib.torch import diffusion

    highres = torch.full((20000, 1, 1, 1), 0.2)
    upsampled = torch.full_like(highres, 0.6)
    time = torch.full((20000,), 0.25)
    x_t = diffusion_lesson.flow_path(highres, upsampled, time, 2.0, torch.randn(highres.shape,
                                                                            generator=torch.Generator().manual_seed(0)))
    assert x_t.mean().item() == pytest.approx(0.75 * 0.2 + 0.25 * 0.6, abs=0.01)
    assert x_t.std().item() == pytest.approx(2.0 * 0.25, rel=0.03)

    class Oracle(torch.nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target, self.seen = target, []

        def forward(self, x_t, upsampled, timestep):
            self.seen.append((x_t.clone(), float(timestep[0])))
            return self.target.expand_as(x_t)

    lowres = torch.rand(1, 3, 5, 6, generator=torch.Generator().manual_seed(1))
    target = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(2))
    for num_steps in (1, 3, 15):
        oracle = Oracle(target)
        result = diffusion_lesson.flow_sample(oracle, lowres, 1.0, num_steps, torch.Generator().manual_seed(3))
        torch.testing.assert_close(result, target)
        start = oracle.seen[0][0]
        assert len(oracle.seen) == num_steps and oracle.seen[0][1] == pytest.approx(15.0)
        for state, shown_time in oracle.seen:
            t = shown_time / 15
            torch.testing.assert_close(state, (1 - t) * target + t * start, atol=1e-5, rtol=0)
