"""srlib.torch.diffusion: the residual-shifting schedule, its closed-form marginals, the samplers and the one-step student."""
import math

import numpy as np

import pytest
import torch

from srlib.torch import diffusion


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


#: A zoo entry for a tiny Denoiser of random weights (x2, 8 features, 1 block), with its sampler settings.
TINY_DIFFUSION = {"architecture": {"class": "Denoiser", "arguments": {"scale": 2, "features": 8, "blocks": 1,
                                                                       "time_dim": 8}},
                  "sampler": diffusion.SamplerSettings(train_steps=6, kappa=1.0, num_steps=6, seed=3).asdict(),
                  "scale": 2, "input": "lowres", "degradation": {"name": "bicubic"}, "data": "random weights",
                  "training": {"seconds": 0}, "validation": {"psnr": 0.0, "bicubic_psnr": 0.0}}


@pytest.fixture
def tiny_diffusion(tmp_path):
    """The path of a tiny diffusion model written into a zoo folder of its own (its denoiser's
    output layer perturbed, so that it predicts something other than the bicubic image)."""
    from srlib import zoo

    torch.manual_seed(0)
    settings = diffusion.SamplerSettings(**TINY_DIFFUSION["sampler"])
    model = diffusion.DiffusionUpscaler(diffusion.Denoiser(**TINY_DIFFUSION["architecture"]["arguments"]), settings)
    with torch.no_grad():
        for parameter in model.denoiser.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return zoo.export(model, "tiny-diffusion", TINY_DIFFUSION, folder=tmp_path / "zoo")


def test_a_zoo_diffusion_model_samples_with_its_metadata_s_settings_and_others_on_request(tiny_diffusion):
    from srlib import zoo
    from tests.conftest import synthetic_photo

    model, metadata = zoo.load_model(str(tiny_diffusion), device="cpu")
    assert isinstance(model, diffusion.DiffusionUpscaler) and model.settings.num_steps == 6 and model.settings.seed == 3
    image = synthetic_photo(12, 16)
    first, again = (zoo.upscale(model, metadata, image) for _ in range(2))
    assert first.shape == (24, 32, 3) and np.array_equal(first, again)  # its seed: the same output every call
    other_seed, other_metadata = zoo.load_model(str(tiny_diffusion), device="cpu", seed=4)
    assert other_metadata["sampler"]["seed"] == 4 and other_metadata["sampler"]["num_steps"] == 6
    assert np.abs(zoo.upscale(other_seed, other_metadata, image) - first).mean() > 1e-3
    one_step, one_metadata = zoo.load_model(str(tiny_diffusion), device="cpu", steps=1)
    assert one_metadata["sampler"]["num_steps"] == 1
    assert np.abs(zoo.upscale(one_step, one_metadata, image) - first).mean() > 1e-3
    # the file stores the denoiser; the schedule is rebuilt from the settings
    assert one_step.denoiser is not model.denoiser
    assert torch.equal(one_step.etas, diffusion.residual_shift_schedule(6, 1.0))


@pytest.mark.parametrize("options, message", [({"steps": 7}, "between 1 and the 6 training steps, not 7"),
                                              ({"steps": 0}, "between 1 and the 6 training steps, not 0"),
                                              ({"seed": -1}, "the seed must be 0 or more"),
                                              ({"steps": 2.5}, "num_steps must be a whole number")])
def test_bad_sampler_settings_name_the_model(tiny_diffusion, options, message):
    from srlib import zoo

    with pytest.raises(ValueError, match=f"tiny-diffusion: .*{message}"):
        zoo.load_model(str(tiny_diffusion), **options)


def test_steps_are_refused_for_a_model_that_makes_one_pass():
    from srlib import zoo

    with pytest.raises(ValueError, match="edsr-x4: sampling steps and seeds are for a diffusion model.*makes one pass"):
        zoo.load_model("edsr-x4", steps=4)


def test_invalid_sampler_metadata_is_refused_with_the_file_name(tiny_diffusion):
    import json

    from srlib import zoo

    metadata_file = tiny_diffusion.with_suffix(".json")
    metadata = json.loads(metadata_file.read_text())
    metadata["sampler"]["num_steps"] = 99
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match=r"tiny-diffusion\.json: invalid sampler settings"):
        zoo.load_model(str(tiny_diffusion))
    del metadata["sampler"]
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match=r"tiny-diffusion\.json: a diffusion model's metadata needs its 'sampler'"):
        zoo.load_model(str(tiny_diffusion))


def test_upscale_command_samples_with_steps_and_seed_in_pytorch(tmp_path, tiny_diffusion, capsys):
    from srlib import enlarge
    from srlib.cli import main
    from srlib.io import load_image, save_image
    from tests.conftest import synthetic_photo

    save_image(tmp_path / "photo.png", synthetic_photo(12, 16))
    outputs = {}
    for run, options in {"a": [], "b": [], "seed": ["--seed", "5"], "steps": ["--steps", "2"]}.items():
        assert main(["upscale", str(tmp_path / "photo.png"), "-o", str(tmp_path / run), "--model", str(tiny_diffusion),
                     "--device", "cpu", *options]) == 0
        outputs[run] = load_image(tmp_path / run / "photo.png")
    out = capsys.readouterr().out
    # the auto backend is PyTorch for a diffusion model, even where it would pick ONNX Runtime
    assert "tiny-diffusion, 6 sampling steps of 6, seed 3: x2 on cpu, torch" in out
    assert "2 sampling steps of 6, seed 3" in out and "6 sampling steps of 6, seed 5" in out
    assert outputs["a"].shape == (24, 32, 3) and np.array_equal(outputs["a"], outputs["b"])
    assert not np.array_equal(outputs["a"], outputs["seed"]) and not np.array_equal(outputs["a"], outputs["steps"])
    with pytest.raises(ValueError, match="runs in PyTorch only"):
        enlarge.Upscaler(str(tiny_diffusion), device="cpu", backend="onnxruntime")
    assert main(["upscale", str(tmp_path / "photo.png"), "-o", str(tmp_path / "x"), "--model", "edsr-x2",
                 "--steps", "4"]) == 2
    assert "edsr-x2: sampling steps and seeds are for a diffusion model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["upscale", str(tmp_path / "photo.png"), "-o", str(tmp_path / "x"), "--steps", "0"])
    assert "argument --steps: must be a whole number of sampling steps greater than 0, not '0'" in capsys.readouterr().err


def test_evaluate_command_scores_a_diffusion_model_and_export_refuses_it(tmp_path, tiny_diffusion, capsys):
    from srlib.cli import main
    from srlib.io import save_image
    from tests.conftest import synthetic_photo

    (tmp_path / "photos").mkdir()
    for seed in range(2):
        save_image(tmp_path / "photos" / f"p{seed}.png", synthetic_photo(24, 28, seed=seed))
    assert main(["evaluate", str(tmp_path / "photos"), "--model", str(tiny_diffusion), "--device", "cpu",
                 "--steps", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "tiny-diffusion, 3 sampling steps, seed 1 on 2 images" in out and "| tiny-diffusion |" in out
    assert main(["export", str(tiny_diffusion), "-o", str(tmp_path / "model.onnx")]) == 2
    assert "ONNX export does not cover" in capsys.readouterr().err
    assert not (tmp_path / "model.onnx").exists()
