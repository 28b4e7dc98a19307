"""srlib.torch.vae: the conditional VAE's shapes, sampling, loss and one learning step."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from srlib.torch.vae import ConditionalVAE, KLAnnealing, kl_divergence, vae_loss  # noqa: E402


@pytest.fixture
def batch():
    torch.manual_seed(0)
    highres = torch.rand(2, 3, 16, 24)
    lowres = torch.nn.functional.avg_pool2d(highres, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    return lowres, highres


def test_shapes_and_reparameterisation(batch):
    lowres, highres = batch
    model = ConditionalVAE(channels=8, latent_channels=2)
    prediction, mu, logvar = model(lowres, highres)
    assert prediction.shape == highres.shape and mu.shape == logvar.shape == (2, 2, 4, 6)
    loss, terms = vae_loss(prediction, highres, mu, logvar, kl_weight=1.0)
    loss.backward()
    gradients = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in gradients)  # gradients reach q(z|x, y)
    assert terms["kl"] >= 0 and terms["reconstruction"] > 0


def test_samples_differ_and_are_seeded(batch):
    lowres, _ = batch
    model = ConditionalVAE(channels=8, latent_channels=2).eval()
    first = model.sample(lowres, num_samples=3, generator=torch.Generator().manual_seed(1))
    again = model.sample(lowres, num_samples=3, generator=torch.Generator().manual_seed(1))
    assert first.shape == (3, 2, 3, 16, 24)
    assert torch.equal(first, again)
    assert (first[0] - first[1]).abs().max() > 0  # different z, different image
    assert (model.sample(lowres, 2, temperature=0.0)[0] == model.sample(lowres, 2, temperature=0.0)[1]).all()


def test_kl_is_zero_at_the_prior_and_annealing_rises():
    zeros = torch.zeros(3, 2, 4, 4)
    assert kl_divergence(zeros, zeros).item() == 0.0
    assert kl_divergence(zeros + 1, zeros).item() == pytest.approx(0.5 * 32)
    schedule = KLAnnealing(final=0.5, warmup_steps=10)
    assert [schedule(0), schedule(5), schedule(10), schedule(50)] == [0.0, 0.25, 0.5, 0.5]
    with pytest.raises(ValueError):
        KLAnnealing(final=-1)


def test_a_few_steps_lower_the_loss(batch):
    lowres, highres = batch
    torch.manual_seed(0)
    model = ConditionalVAE(channels=8, latent_channels=2)
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    losses, kls = [], []
    for _ in range(100):
        prediction, mu, logvar = model(lowres, highres)
        loss, terms = vae_loss(prediction, highres, mu, logvar, kl_weight=0.01)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        kls.append(terms["kl"])
    # The detail that averaging removed can only come back through z: the encoder learns to
    # send it (the KL grows) and the reconstruction improves.
    assert losses[-1] < 0.85 * losses[0]
    assert kls[-1] > 10 * kls[0]


def test_sizes_must_fit_the_latent_grid(batch):
    lowres, highres = batch
    with pytest.raises(ValueError, match="multiples of 4"):
        ConditionalVAE(channels=8)(lowres[..., :15, :], highres[..., :15, :])


def test_training_loop_on_tiny_data():
    from srlib.patches import PairedPatches, degrade_photos
    from srlib.torch.vae import predict, train
    from tests.conftest import synthetic_photo

    images = {f"p{s}": synthetic_photo(64, 80, seed=s) for s in range(2)}
    pairs = PairedPatches(images, "bicubic", scale=4, patch_size=32, length=4, upsample_input=True, seed=0)
    inputs, targets = degrade_photos(images, "bicubic", 4, seed=0, multiple=16)
    assert targets["p0"].shape == (64, 80, 3)
    histories, models = {}, {}
    for kind in ("mse", "vae"):
        torch.manual_seed(0)
        models[kind] = ConditionalVAE(channels=4, latent_channels=2)
        histories[kind] = train(models[kind], pairs, num_steps=3, batch_size=2, kl_warmup_steps=2, kind=kind,
                                precision="fp32", progress=False)
    assert len(histories["vae"]["kl"]) == 3 and histories["mse"]["kl"] == [0.0] * 3
    assert histories["vae"]["kl"][-1] > 0 and histories["mse"]["precision"] == "fp32"
    assert not models["vae"].training  # handed back in eval mode
    # Seeded: the same start gives the same losses.
    torch.manual_seed(0)
    again = train(ConditionalVAE(channels=4, latent_channels=2), pairs, 3, 2, kind="mse", precision="fp32", progress=False)
    assert again["loss"] == histories["mse"]["loss"]
    mse = predict(models["mse"], inputs, "mse")
    drawn = predict(models["vae"], inputs, "vae", num_samples=2)
    assert mse["p1"].shape == (64, 80, 3) and drawn["p1"].shape == (2, 64, 80, 3)
    assert not np.array_equal(drawn["p1"][0], drawn["p1"][1])  # two different samples
    # a temperature scales the latents' spread: the same noise, further from (or at) the prior's mean
    hotter = predict(models["vae"], inputs, "vae", num_samples=2, temperature=3.0)
    at_mean = predict(models["vae"], inputs, "vae", num_samples=2, temperature=0.0)
    assert np.allclose(at_mean["p1"][0], at_mean["p1"][1]) and np.allclose(at_mean["p1"][0], predict(
        models["vae"], inputs, "mse")["p1"], atol=1e-6)
    assert hotter["p1"].std(axis=0).mean() > drawn["p1"].std(axis=0).mean()
    with pytest.raises(ValueError, match="kind"):
        train(models["mse"], pairs, 1, 2, kind="gan", progress=False)


def test_decode_without_a_latent_uses_the_zero_latent(batch):
    lowres, _ = batch
    model = ConditionalVAE(channels=8, latent_channels=2).eval()
    with torch.no_grad():
        assert torch.equal(model.decode(lowres), model.decode(lowres, torch.zeros(model.latent_shape(lowres))))
    assert model.latent_shape(lowres) == (2, 2, 4, 6)
    with torch.no_grad():  # serving (the zoo's vae-x4): the input alone gives the zero-latent answer
        assert torch.equal(model(lowres), model.decode(lowres))


def test_the_kl_against_a_gaussian_prior_is_the_closed_form_and_reduces_to_the_normal_one():
    torch.manual_seed(1)
    mu, logvar, prior_mu, prior_logvar = (torch.randn(3, 2, 4, 4) for _ in range(4))
    standard = kl_divergence(mu, logvar)
    assert torch.allclose(kl_divergence(mu, logvar, torch.zeros_like(mu), torch.zeros_like(mu)), standard)
    assert torch.allclose(kl_divergence(mu, logvar, mu, logvar), torch.tensor(0.0), atol=1e-6)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(prior_mu, torch.exp(0.5 * prior_logvar))
    independent = torch.distributions.kl_divergence(q, p).flatten(1).sum(dim=1).mean()
    assert torch.allclose(kl_divergence(mu, logvar, prior_mu, prior_logvar), independent, rtol=1e-5)


def test_a_learned_prior_starts_as_the_normal_one_and_is_what_samples_come_from(batch):
    lowres, highres = batch
    torch.manual_seed(4)
    normal = ConditionalVAE(channels=8, latent_channels=2)
    torch.manual_seed(4)
    learned = ConditionalVAE(channels=8, latent_channels=2, prior="learned")
    assert set(learned.state_dict()) - set(normal.state_dict()) == {k for k in learned.state_dict() if k.startswith("prior.")}
    assert all(torch.equal(value, learned.state_dict()[key]) for key, value in normal.state_dict().items())
    prior_mu, prior_logvar = learned.prior_statistics(lowres)
    assert prior_mu.shape == (2, 2, 4, 6) and not prior_mu.any() and not prior_logvar.any()  # N(0, I) at first
    generator = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    assert torch.equal(learned.sample(lowres, 2, generator=generator()), normal.sample(lowres, 2, generator=generator()))
    with torch.no_grad():  # move the prior's mean: the samples and the prior-mean prediction follow it
        learned.prior[-1].bias[:2] = 3.0
    shifted_mu, _ = learned.prior_statistics(lowres)
    assert torch.allclose(shifted_mu, torch.full_like(shifted_mu, 3.0))
    assert torch.allclose(learned.decode(lowres), learned.decode(lowres, shifted_mu))
    at_temperature_zero = learned.sample(lowres, 1, temperature=0.0)[0]
    assert torch.allclose(at_temperature_zero, learned.decode(lowres), atol=1e-6)
    assert not torch.allclose(learned.decode(lowres), normal.decode(lowres))
    with pytest.raises(ValueError, match="prior must be 'normal' or 'learned'"):
        ConditionalVAE(prior="uniform")


def test_the_training_loop_teaches_a_learned_prior(batch):
    from srlib.patches import PairedPatches
    from srlib.torch.vae import train

    images = {f"p{seed}": np.random.default_rng(seed).random((48, 48, 3), dtype=np.float32) for seed in range(2)}
    pairs = PairedPatches(images, "bicubic", scale=4, patch_size=16, length=8, upsample_input=True, seed=0)
    model = ConditionalVAE(channels=8, latent_channels=2, prior="learned")
    before = [value.clone() for value in model.prior.parameters()]
    history = train(model, pairs, 6, batch_size=4, kl_warmup_steps=2, precision="fp32", progress=False)
    assert len(history["kl"]) == 6 and all(np.isfinite(history["loss"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.prior.parameters()))  # the prior learned
