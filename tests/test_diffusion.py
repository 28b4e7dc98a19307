"""srlib.diffusion: the residual-shifting schedule, its closed-form marginals, the samplers and the one-step student."""
import math

import pytest
import torch

from srlib import diffusion


class Oracle(torch.nn.Module):
    """A denoiser that knows the answer: it predicts the true x0 whatever it is shown."""

    def __init__(self, highres, scale):
        super().__init__()
        self.highres, self.scale = highres, scale

    def forward(self, x_t, upsampled, timestep):
        return self.highres.expand_as(x_t)


def test_schedule_rises_from_a_small_first_value_to_eta_last():
    etas = diffusion.residual_shift_schedule(steps=15, kappa=2.0)
    assert etas.shape == (15,)
    assert torch.all(etas[1:] > etas[:-1])
    assert etas[0].item() == pytest.approx(min((0.04 / 2.0) ** 2, 0.001))
    assert etas[-1].item() == pytest.approx(0.999)
    # the increments of eta grow along the chain (0.001, 0.014, 0.031, ...): the first half rises less than the second
    assert etas[7] - etas[0] < etas[-1] - etas[7]


@pytest.mark.parametrize("arguments", [{"steps": 0}, {"kappa": 0.0}])
def test_schedule_refuses_empty_or_noiseless(arguments):
    with pytest.raises(ValueError):
        diffusion.residual_shift_schedule(**arguments)


def test_forward_marginal_has_the_closed_form_mean_and_variance():
    generator = torch.Generator().manual_seed(0)
    highres = torch.full((20000, 1, 1, 1), 0.2)
    upsampled = torch.full_like(highres, 0.6)
    eta, kappa = 0.3, 0.5
    x_t = diffusion.forward_sample(highres, upsampled, torch.full((20000,), eta), kappa, generator=generator)
    assert x_t.mean().item() == pytest.approx(0.2 + eta * 0.4, abs=0.01)
    assert x_t.var().item() == pytest.approx(kappa ** 2 * eta, rel=0.05)


def test_posterior_step_keeps_the_marginal_of_the_earlier_step():
    """x_t ~ q(x_t | x0), then x_s ~ q(x_s | x_t, x0) must be distributed as q(x_s | x0)."""
    generator = torch.Generator().manual_seed(1)
    count, kappa, eta_t, eta_s = 40000, 1.0, 0.8, 0.25
    highres = torch.full((count, 1, 1, 1), 0.1)
    upsampled = torch.full_like(highres, 0.9)
    x_t = diffusion.forward_sample(highres, upsampled, torch.full((count,), eta_t), kappa, generator=generator)
    mean, deviation = diffusion.posterior(x_t, highres, eta_t, eta_s, kappa)
    x_s = mean + deviation * torch.randn(x_t.shape, generator=generator)
    assert x_s.mean().item() == pytest.approx(0.1 + eta_s * 0.8, abs=0.01)
    assert x_s.var().item() == pytest.approx(kappa ** 2 * eta_s, rel=0.05)
    # the deterministic step moves each draw to the same marginal without fresh noise
    moved = diffusion.deterministic_step(x_t, highres, upsampled, eta_t, eta_s)
    assert moved.mean().item() == pytest.approx(0.1 + eta_s * 0.8, abs=0.01)
    assert moved.var().item() == pytest.approx(kappa ** 2 * eta_s, rel=0.05)


def test_posterior_at_the_last_step_is_the_prediction():
    x_t, predicted = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    mean, deviation = diffusion.posterior(x_t, predicted, 0.01, 0.0, kappa=2.0)
    assert torch.equal(mean, predicted) and deviation == 0


def test_sampling_timesteps_run_from_the_last_step_down():
    assert diffusion.sampling_timesteps(15, 15) == list(range(15, 0, -1))
    assert diffusion.sampling_timesteps(15, 1) == [15]
    few = diffusion.sampling_timesteps(15, 4)
    assert few[0] == 15 and few[-1] == 1 and len(few) == 4
    with pytest.raises(ValueError, match="between 1 and the 15"):
        diffusion.sampling_timesteps(15, 16)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("num_steps", [1, 4, 15])
def test_a_perfect_denoiser_samples_the_high_resolution_image(deterministic, num_steps):
    generator = torch.Generator().manual_seed(2)
    highres = torch.rand(2, 3, 16, 16, generator=generator)
    lowres = torch.nn.functional.avg_pool2d(highres, 4)
    etas = diffusion.residual_shift_schedule(15, kappa=2.0)
    result = diffusion.sample(Oracle(highres, 4), lowres, etas, 2.0, num_steps, generator=generator,
                              deterministic=deterministic)
    torch.testing.assert_close(result, highres)


def test_denoiser_shapes_and_residual_start():
    denoiser = diffusion.Denoiser(scale=4, features=16, blocks=2, time_dim=16)
    x_t, upsampled = torch.rand(2, 3, 32, 24), torch.rand(2, 3, 32, 24)
    output = denoiser(x_t, upsampled, torch.tensor([1, 15]))
    assert output.shape == (2, 3, 32, 24)
    rebuilt = diffusion.Denoiser(**denoiser.arguments())
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in denoiser.parameters())


def test_sampling_is_reproducible_under_a_seed_and_differs_across_seeds():
    torch.manual_seed(0)
    denoiser = diffusion.Denoiser(scale=2, features=8, blocks=1, time_dim=8).eval()
    lowres = torch.rand(1, 3, 8, 8)
    upscaler = diffusion.DiffusionUpscaler(denoiser, diffusion.SamplerSettings(train_steps=6, kappa=1.0, num_steps=3))
    first, again = upscaler(lowres), upscaler(lowres)
    assert first.shape == (1, 3, 16, 16)
    assert torch.equal(first, again)
    other = upscaler.with_settings(seed=1)(lowres)
    assert (other - first).abs().mean() > 1e-3
    assert upscaler.with_settings(seed=1).denoiser is denoiser


def test_sampler_settings_refuse_steps_outside_the_schedule():
    with pytest.raises(ValueError, match="between 1 and the 15"):
        diffusion.SamplerSettings(train_steps=15, num_steps=0)
    with pytest.raises(ValueError, match="kappa"):
        diffusion.SamplerSettings(kappa=-1.0)


def test_training_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    highres = torch.rand(4, 3, 16, 16, generator=generator)
    highres = torch.nn.functional.avg_pool2d(highres, 2).repeat_interleave(2, 2).repeat_interleave(2, 3)
    lowres = torch.nn.functional.avg_pool2d(highres, 2)
    etas = diffusion.residual_shift_schedule(6, kappa=0.5)
    denoiser = diffusion.Denoiser(scale=2, features=16, blocks=2, time_dim=16)
    optimizer = torch.optim.Adam(denoiser.parameters(), 2e-3)

    def loss_now():
        return diffusion.training_loss(denoiser, lowres, highres, etas, 0.5, torch.Generator().manual_seed(5)).item()

    before = loss_now()
    for _ in range(60):
        optimizer.zero_grad()
        diffusion.training_loss(denoiser, lowres, highres, etas, 0.5, generator).backward()
        optimizer.step()
    assert loss_now() < 0.7 * before


def test_one_step_student_learns_the_teacher_s_chain():
    torch.manual_seed(0)
    teacher = diffusion.Denoiser(scale=2, features=8, blocks=1, time_dim=8).eval()
    student = diffusion.Denoiser(scale=2, features=16, blocks=2, time_dim=16)
    etas = diffusion.residual_shift_schedule(6, kappa=0.5)
    lowres = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    optimizer = torch.optim.Adam(student.parameters(), 2e-3)

    def gap():
        noise = diffusion.start_noise(diffusion.upsample(lowres, 2), torch.Generator().manual_seed(9))
        many = diffusion.sample(teacher, lowres, etas, 0.5, 6, deterministic=True, noise=noise)
        one = diffusion.sample(student, lowres, etas, 0.5, 1, deterministic=True, noise=noise)
        return (many - one).pow(2).mean().item()

    before, generator = gap(), torch.Generator().manual_seed(4)
    for _ in range(80):
        optimizer.zero_grad()
        diffusion.distillation_loss(student, teacher, lowres, etas, 0.5, 6, generator).backward()
        optimizer.step()
    assert gap() < 0.5 * before
    assert math.isfinite(gap())
