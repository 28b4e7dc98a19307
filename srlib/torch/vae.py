"""A conditional variational auto-encoder for super-resolution (imports torch).

Super-resolution is ill-posed: one low-resolution image fits many high-resolution ones. A
conditional VAE (Kingma and Welling, 2014; Sohn et al., 2015, "Learning Structured Output
Representation using Deep Conditional Generative Models") models that spread explicitly:

- an encoder ``q(z | highres, lowres)`` that sees the answer during training and summarises
  what the low-resolution input does not tell (a small spatial latent map ``z``);
- a decoder ``p(highres | z, lowres)`` that draws the detail for a given ``z``;
- the *reparameterisation trick*, ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``, so gradients
  flow through the sampling;
- the loss ``reconstruction + kl_weight * KL(q || N(0, I))``. A small ``kl_weight`` lets ``z``
  carry much (sharp reconstructions, but samples from the prior look unlike training); a large
  one squeezes ``z`` towards the prior (samples are plausible, reconstructions blurrier).
  :class:`KLAnnealing` raises it gradually, which keeps the latent from collapsing early.

At test time ``z`` comes from the prior ``N(0, I)``: :meth:`ConditionalVAE.sample` gives several
different plausible high-resolution images for one input, and their mean approaches the
single prediction of an MSE-trained model. Inputs: NCHW RGB in [0, 1], the low-resolution image
already bicubic-upsampled to the output size; sides must be multiples of ``2 ** num_downsamples``.
Taught in ``notebooks/05_vae.ipynb``, which writes the model, its loss and :func:`train` from
scratch, checks them against these, then uses these.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srlib.torch import checkpoints


def _block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.LeakyReLU(0.2))


class ConditionalVAE(nn.Module):
    """Conditional VAE with a spatial latent of ``latent_channels`` at 1/``2**num_downsamples``.

    ``prior="normal"``: ``p(z) = N(0, I)`` for every input (tutorial 5). ``prior="learned"``: a
    conditional prior ``p(z | lowres) = N(mu_p, exp(logvar_p))`` computed from the input alone by a
    small network of its own (the "prior network" of Sohn et al. 2015's CVAE), whose last layer
    starts at zero so that it starts as N(0, I). Its KL term is then taken against that prior
    (:func:`kl_divergence` with ``prior_mu``, ``prior_logvar``), samples are drawn from it, and the
    prior can leave room where the input is ambiguous and none where it is not. Measured by
    ``benchmarks/vae_probes.py`` (results/probes/vae_probes.md): at every KL weight tried, the
    learned prior's mean of samples is closer to the MSE model and its samples differ more in
    textured regions.
    """

    def __init__(self, channels: int = 32, latent_channels: int = 4, num_downsamples: int = 2, prior: str = "normal"):
        super().__init__()
        if prior not in ("normal", "learned"):
            raise ValueError(f"prior must be 'normal' or 'learned', got {prior!r}")
        self.latent_channels, self.factor, self.prior_kind = latent_channels, 2 ** num_downsamples, prior
        layers, width = [_block(6, channels)], channels
        for _ in range(num_downsamples):
            layers.append(_block(width, width * 2, stride=2))
            width *= 2
        self.encoder = nn.Sequential(*layers, nn.Conv2d(width, 2 * latent_channels, 3, padding=1))
        self.condition = nn.Sequential(_block(3, channels), _block(channels, channels))
        self.decoder = nn.Sequential(_block(channels + latent_channels, channels), _block(channels, channels),
                                     _block(channels, channels), nn.Conv2d(channels, 3, 3, padding=1))
        if prior == "learned":  # built last, so that the other layers start as in a "normal" model of the same seed
            layers, width = [_block(3, channels)], channels
            for _ in range(num_downsamples):
                layers.append(_block(width, width * 2, stride=2))
                width *= 2
            last = nn.Conv2d(width, 2 * latent_channels, 3, padding=1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.prior = nn.Sequential(*layers, last)

    def _check(self, lowres: torch.Tensor) -> None:
        height, width = lowres.shape[-2:]
        if height % self.factor or width % self.factor:
            raise ValueError(f"image sides must be multiples of {self.factor}, got {height}x{width}")

    def encode(self, lowres: torch.Tensor, highres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``q(z | highres, lowres)``, each (N, latent_channels, H/f, W/f)."""
        self._check(lowres)
        statistics = self.encoder(torch.cat([highres, lowres], dim=1))
        mu, logvar = statistics.chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)

    def latent_shape(self, lowres: torch.Tensor) -> tuple[int, int, int, int]:
        """The shape of ``z`` for a batch of (N, 3, H, W) inputs: (N, latent_channels, H/f, W/f)."""
        self._check(lowres)
        batch, _, height, width = lowres.shape
        return batch, self.latent_channels, height // self.factor, width // self.factor

    def prior_statistics(self, lowres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of the prior for these inputs, each (N, latent_channels, H/f, W/f):
        zeros for ``prior="normal"``, the prior network's output for ``"learned"``."""
        if self.prior_kind == "normal":
            zeros = torch.zeros(self.latent_shape(lowres), device=lowres.device, dtype=lowres.dtype)
            return zeros, zeros
        self._check(lowres)
        mu, logvar = self.prior(lowres).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)

    def decode(self, lowres: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """A high-resolution image for latent ``z`` (None: the prior's mean, zero for the normal
        prior): the input plus the decoded detail."""
        if z is None:
            z = (torch.zeros(self.latent_shape(lowres), device=lowres.device) if self.prior_kind == "normal"
                 else self.prior_statistics(lowres)[0])
        self._check(lowres)
        upsampled = F.interpolate(z, size=lowres.shape[-2:], mode="nearest")
        return lowres + self.decoder(torch.cat([self.condition(lowres), upsampled], dim=1))

    def forward(self, lowres: torch.Tensor, highres: torch.Tensor | None = None):
        """Training pass: ``(prediction, mu, logvar)`` with ``z`` sampled by reparameterisation.

        Without ``highres`` (serving, as the zoo's ``vae-x4`` does): the zero-latent prediction
        :meth:`decode` gives, (N, 3, H, W).
        """
        if highres is None:
            return self.decode(lowres)
        mu, logvar = self.encode(lowres, highres)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(lowres, z), mu, logvar

    @torch.no_grad()
    def sample(self, lowres: torch.Tensor, num_samples: int = 8, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``num_samples`` plausible outputs per input from the prior: (num_samples, N, 3, H, W)."""
        shape = self.latent_shape(lowres)
        samples = []
        if self.prior_kind == "learned":
            prior_mu, prior_logvar = self.prior_statistics(lowres)
            prior_std = torch.exp(0.5 * prior_logvar)
        for _ in range(num_samples):
            eps = temperature * torch.randn(shape, generator=generator).to(lowres.device)  # CPU generator
            z = eps if self.prior_kind == "normal" else prior_mu + prior_std * eps
            samples.append(self.decode(lowres, z))
        return torch.stack(samples)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor | None = None,
                  prior_logvar: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || prior)`` summed over latent elements, averaged over the batch.

    The prior is N(0, I) when ``prior_mu`` is None, else ``N(prior_mu, exp(prior_logvar))``
    (a learned prior): per element ``0.5 (logvar_p - logvar + (exp(logvar) + (mu - mu_p)²) /
    exp(logvar_p) - 1)``, which is the first formula when ``mu_p = logvar_p = 0``."""
    if prior_mu is None:
        return (0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)).flatten(1).sum(dim=1).mean()
    terms = 0.5 * (prior_logvar - logvar + (logvar.exp() + (mu - prior_mu) ** 2) / prior_logvar.exp() - 1.0)
    return terms.flatten(1).sum(dim=1).mean()


def reconstruction_error(prediction: torch.Tensor, highres: torch.Tensor) -> torch.Tensor:
    """The squared error summed over each image's pixels, averaged over the batch (a Gaussian
    log-likelihood up to constants): the VAE's reconstruction term and the MSE model's loss."""
    return ((prediction - highres) ** 2).flatten(1).sum(dim=1).mean()


def vae_loss(prediction: torch.Tensor, highres: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             kl_weight: float, prior_mu: torch.Tensor | None = None,
             prior_logvar: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """``MSE(prediction, highres) * pixels + kl_weight * KL``, per image, averaged over the batch.

    The reconstruction is summed over pixels (the Gaussian log-likelihood up to constants) so
    that ``kl_weight`` = 1 is the true evidence lower bound. The KL is against N(0, I), or against
    a learned prior given as ``prior_mu``, ``prior_logvar``. Returns ``(loss, terms)``.
    """
    reconstruction = reconstruction_error(prediction, highres)
    kl = kl_divergence(mu, logvar, prior_mu, prior_logvar)
    return reconstruction + kl_weight * kl, {"reconstruction": reconstruction.item(), "kl": kl.item()}


class KLAnnealing:
    """``kl_weight`` rising linearly from 0 to ``final`` over ``warmup_steps``, then constant."""

    def __init__(self, final: float = 1.0, warmup_steps: int = 1000):
        if final < 0 or warmup_steps < 0:
            raise ValueError(f"final ({final}) and warmup_steps ({warmup_steps}) must be non-negative")
        self.final, self.warmup_steps = final, warmup_steps

    def __call__(self, step: int) -> float:
        if self.warmup_steps == 0:
            return self.final
        return self.final * min(1.0, step / self.warmup_steps)


def train(model: ConditionalVAE, pairs, num_steps: int, batch_size: int = 16, learning_rate: float = 1e-3,
          kl_weight: float = 0.02, kl_warmup_steps: int = 700, kind: str = "vae", precision: str = "auto",
          seed: int = 42, progress: bool = True, checkpoint=None, checkpoint_every: int = 500,
          settings: dict | None = None, stop_after: int | None = None) -> dict:
    """Train ``model`` in place on ``pairs`` (a :class:`srlib.patches.PairedPatches` with
    ``upsample_input=True``) with Adam; returns the history.

    ``kind="vae"``: the loss of :func:`vae_loss` with the KL weight of :class:`KLAnnealing`.
    ``kind="mse"``: the same decoder with ``z`` fixed at 0 and the summed squared error, a
    deterministic network of the same capacity. Batches: a seeded permutation of ``pairs`` per
    pass, the crops redrawn each pass (``pairs.set_epoch``). The network runs in bfloat16 with
    channels-last where native (``precision``, see :mod:`srlib.torch.precision`), the loss in float32.
    History: per-step ``loss``, ``reconstruction``, ``kl``; ``seconds``; ``precision``;
    ``resumed_after`` (steps taken from a checkpoint, 0 for a fresh run).

    ``checkpoint``: a file (``.pt``) where the whole state (weights, Adam's moments, PyTorch's
    generator, the history, the seconds so far) is saved every ``checkpoint_every`` steps and at
    the end; when it exists and was written with the same settings, training resumes from it and
    ends with the weights an uninterrupted run gives (the batches depend only on ``seed`` and the
    step). ``settings``: anything else that decides the run (a notebook's ``CONFIG``), stored with
    the checkpoint and compared like the arguments. ``stop_after``: leave the loop after that many
    steps without saving, as an interruption would (for tests).
    """
    from tqdm import tqdm

    from srlib.torch import precision as precisions, to_tensor

    if kind not in ("vae", "mse"):
        raise ValueError(f"kind must be 'vae' or 'mse', got {kind!r}")
    resolved = precisions.prepare_training(model, precision, "cpu")
    layout = precisions.memory_format(resolved)
    optimiser = torch.optim.Adam(model.parameters(), learning_rate)
    schedule = KLAnnealing(kl_weight, kl_warmup_steps)
    history = {"loss": [], "reconstruction": [], "kl": []}
    batches_per_pass = len(pairs) // batch_size
    settings = {**(settings or {}), "parameters": sum(p.numel() for p in model.parameters()), "kind": kind,
                "num_steps": num_steps, "batch_size": batch_size, "learning_rate": learning_rate,
                "kl_weight": kl_weight, "kl_warmup_steps": kl_warmup_steps, "seed": seed, "precision": resolved,
                "pairs": len(pairs)}
    first, earlier = 0, 0.0
    state = checkpoints.load_state(checkpoint, settings) if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        checkpoints.set_random_state(state["random"])
        history = {key: list(state["history"][key]) for key in history}
        first, earlier = state["step"], state["seconds"]
        if progress:
            print(f"{Path(checkpoint).name}: resuming after step {first} of {num_steps}")

    def save(step):
        checkpoints.save_state(checkpoint, {
            "step": step, "seconds": time.perf_counter() - started, "random": checkpoints.random_state(),
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(), "history": history}, settings)

    started = time.perf_counter() - earlier
    model.train()
    for step in tqdm(range(first, num_steps), desc=f"{kind:>3}", disable=not progress, mininterval=1.0,
                     initial=first, total=num_steps):
        if step == stop_after:
            break
        if step % batches_per_pass == 0 or step == first:  # a new pass (or a resumed one): its crops and order
            pairs.set_epoch(step // batches_per_pass)
            order = np.random.default_rng([seed, step - step % batches_per_pass]).permutation(len(pairs))
        indices = order[(step % batches_per_pass) * batch_size:][:batch_size]
        lowres, highres = (to_tensor(array).contiguous(memory_format=layout) for array in pairs.batch(indices))
        with precisions.autocast(resolved):
            if kind == "vae":
                prediction, mu, logvar = model(lowres, highres)
                prior = model.prior_statistics(lowres) if model.prior_kind == "learned" else (None, None)
            else:
                prediction = model.decode(lowres)
        if kind == "vae":
            loss, terms = vae_loss(prediction.float(), highres, mu.float(), logvar.float(), schedule(step),
                                   *(None if value is None else value.float() for value in prior))
        else:
            loss = reconstruction_error(prediction.float(), highres)
            terms = {"reconstruction": loss.item(), "kl": 0.0}
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history["loss"].append(loss.item())
        history["reconstruction"].append(terms["reconstruction"])
        history["kl"].append(terms["kl"])
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == num_steps):
            save(step + 1)
    history["seconds"] = time.perf_counter() - started
    history["resumed_after"] = first
    history["precision"] = resolved
    model.to(memory_format=torch.contiguous_format).eval()
    return history


def predict(model: ConditionalVAE, inputs: dict, kind: str = "vae", num_samples: int = 8, seed: int = 0,
            temperature: float = 1.0) -> dict:
    """``{name: array}`` for whole images (HWC in [0, 1], bicubic-upsampled inputs): for
    ``kind="mse"`` the prediction at the prior's mean (the zero latent for the normal prior; HWC);
    for ``"vae"`` ``num_samples`` draws from the prior, stacked (S, H, W, C), from one seeded generator,
    with the prior's standard deviation times ``temperature`` (1: the model's own prior; 0: its mean)."""
    from srlib.torch import to_image, to_tensor

    outputs, generator = {}, torch.Generator().manual_seed(seed)
    for name, image in inputs.items():
        lowres = to_tensor(image)[None]
        if kind == "mse":
            with torch.no_grad():
                outputs[name] = to_image(model.decode(lowres)[0])
        else:
            outputs[name] = to_image(model.sample(lowres, num_samples=num_samples, temperature=temperature,
                                                  generator=generator)[:, 0])
    return outputs
