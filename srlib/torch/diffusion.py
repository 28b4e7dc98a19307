"""Diffusion super-resolution by residual shifting, small enough to train on a CPU (imports torch).

ResShift (Yue et al., "ResShift: Efficient Diffusion Model for Image Super-resolution by Residual
Shifting", NeurIPS 2023) starts the Markov chain from the low-resolution image instead of pure
noise. With ``y0`` the bicubic-upsampled low-resolution image and ``x0`` the high-resolution one,
the forward process shifts the residual ``e0 = y0 - x0`` in over ``T`` steps while adding noise:

    q(x_t | x0, y0) = N(x0 + eta_t * e0, kappa**2 * eta_t * I),    0 < eta_1 < ... < eta_T ~ 1,

so ``x_T`` is ``y0`` plus noise of standard deviation ``kappa`` and a handful of steps suffices.
Between any two steps ``s < t`` the posterior is Gaussian in closed form (Yue et al., eq. 7, with
``alpha = eta_t - eta_s``):

    q(x_s | x_t, x0, y0) = N((eta_s / eta_t) * x_t + (alpha / eta_t) * x0,
                             kappa**2 * (eta_s / eta_t) * alpha * I),

so a network that predicts ``x0`` from ``(x_t, y0, t)`` (trained by plain mean squared error, the
regression tutorial 6 teaches) gives the reverse chain, and sampling on a subset of the steps is
the same formula with ``s`` and ``t`` further apart.

Shapes and ranges: images NCHW RGB in [0, 1]; ``lowres`` (N, 3, h, w), ``highres`` and every
``x_t`` (N, 3, scale*h, scale*w) (``x_t`` leaves [0, 1] by the noise). Timesteps are integers
``1..T`` (0 stands for the clean image).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


def residual_shift_schedule(steps: int = 15, kappa: float = 2.0, power: float = 0.3,
                            eta_last: float = 0.999) -> torch.Tensor:
    """``eta_1..eta_T`` as a float64 tensor of length ``steps``: ResShift's schedule (its eq. 10).

    ``sqrt(eta_t) = sqrt(eta_1) * b0 ** beta_t`` with ``beta_t = ((t-1)/(T-1)) ** power * (T-1)``
    and ``b0`` chosen so that ``eta_T = eta_last``; ``eta_1 = min((0.04 / kappa) ** 2, 0.001)``,
    small enough that ``x_1`` is nearly ``x0``. ``power`` < 1 makes ``sqrt(eta)`` rise quickly over the
    first steps and slowly over the last.
    """
    if steps < 1:
        raise ValueError(f"a schedule needs at least one step, not {steps}")
    if kappa <= 0:
        raise ValueError(f"kappa (the noise level) must be positive, not {kappa}")
    eta_first = min((0.04 / kappa) ** 2, 0.001)
    if steps == 1:
        return torch.tensor([eta_last], dtype=torch.float64)
    b0 = math.exp(math.log(eta_last / eta_first) / (2 * (steps - 1)))
    beta = (torch.arange(steps, dtype=torch.float64) / (steps - 1)) ** power * (steps - 1)
    return (math.sqrt(eta_first) * b0 ** beta) ** 2


def _as_column(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sample scalars (N,) shaped (N, 1, 1, 1) in ``like``'s dtype and device."""
    return values.to(like.device, like.dtype).view(-1, *([1] * (like.dim() - 1)))


def forward_sample(highres: torch.Tensor, upsampled: torch.Tensor, eta: torch.Tensor, kappa: float,
                   noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """A draw of ``x_t ~ q(x_t | x0, y0)``: ``x0 + eta * (y0 - x0) + kappa * sqrt(eta) * noise``.

    ``eta``: (N,) values of the schedule, one per image (0 gives ``x0`` itself, 1 ``y0`` plus noise).
    """
    if noise is None:
        noise = start_noise(highres, generator)
    eta = _as_column(eta, highres)
    return highres + eta * (upsampled - highres) + kappa * eta.sqrt() * noise


def posterior(x_t: torch.Tensor, predicted: torch.Tensor, eta_t: float, eta_s: float,
              kappa: float) -> tuple[torch.Tensor, float]:
    """Mean and standard deviation of ``q(x_s | x_t, x0 = predicted, y0)`` for ``eta_s < eta_t``.

    ``eta_s = 0`` (the last step) gives the prediction itself and a standard deviation of 0.
    """
    alpha = eta_t - eta_s
    mean = (eta_s / eta_t) * x_t + (alpha / eta_t) * predicted
    return mean, kappa * math.sqrt(eta_s / eta_t * alpha)


def sampling_timesteps(train_steps: int, num_steps: int) -> list[int]:
    """``num_steps`` timesteps of ``1..train_steps``, evenly spaced, from ``train_steps`` down to 1.

    The sampler visits them in this order (then the clean image, timestep 0); ``num_steps`` equal
    to ``train_steps`` is the full chain.
    """
    if not 1 <= num_steps <= train_steps:
        raise ValueError(f"sampling steps must be between 1 and the {train_steps} training steps, not {num_steps}")
    if num_steps == 1:
        return [train_steps]
    spaced = torch.linspace(train_steps, 1, num_steps).round().long().tolist()
    return list(dict.fromkeys(spaced))


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of the timestep (Vaswani et al. 2017; DDPM's) then a small MLP: (N,) -> (N, dim)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, timestep: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        frequencies = torch.exp(-math.log(1000.0) * torch.arange(half, device=timestep.device) / half)
        angles = timestep.float()[:, None] * frequencies[None]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=1))


class TimedBlock(nn.Module):
    """A residual block whose features are scaled and shifted by the timestep (FiLM)."""

    def __init__(self, features: int, time_dim: int):
        super().__init__()
        self.first = nn.Conv2d(features, features, 3, padding=1)
        self.second = nn.Conv2d(features, features, 3, padding=1)
        self.film = nn.Linear(time_dim, 2 * features)

    def forward(self, x, time):
        scale, shift = self.film(time)[:, :, None, None].chunk(2, dim=1)
        hidden = F.silu(self.first(x)) * (1 + scale) + shift
        return x + self.second(F.silu(hidden))


class Denoiser(nn.Module):
    """Predicts ``x0`` from ``(x_t, y0, t)``, working at the low resolution to be cheap on a CPU.

    ``x_t`` and ``y0`` (N, 3, H, W), H and W multiples of ``scale``, are stacked and pixel-unshuffled
    to (N, 6*scale**2, H/scale, W/scale); a head convolution, ``blocks`` timestep-conditioned
    residual blocks of ``features`` channels and a tail convolution give ``3*scale**2`` channels,
    pixel-shuffled back to (N, 3, H, W) and added to ``y0``: the network predicts the residual
    ``x0 - y0``. ``timestep``: (N,) integers in 1..T. About 0.3 M parameters at the defaults.
    """

    def __init__(self, scale: int = 4, features: int = 64, blocks: int = 6, time_dim: int = 64):
        super().__init__()
        self.scale, self.features, self.blocks, self.time_dim = scale, features, blocks, time_dim
        self.time = TimeEmbedding(time_dim)
        self.head = nn.Conv2d(6 * scale ** 2, features, 3, padding=1)
        self.body = nn.ModuleList(TimedBlock(features, time_dim) for _ in range(blocks))
        self.tail = nn.Conv2d(features, 3 * scale ** 2, 3, padding=1)

    def arguments(self) -> dict:
        """The constructor's arguments: ``Denoiser(**model.arguments())`` rebuilds the architecture."""
        return {"scale": self.scale, "features": self.features, "blocks": self.blocks, "time_dim": self.time_dim}

    def forward(self, x_t: torch.Tensor, upsampled: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        stacked = F.pixel_unshuffle(torch.cat([x_t, upsampled], dim=1), self.scale)
        time = self.time(timestep)
        features = self.head(stacked)
        for block in self.body:
            features = block(features, time)
        return upsampled + F.pixel_shuffle(self.tail(F.silu(features)), self.scale)


def upsample(lowres: torch.Tensor, scale: int) -> torch.Tensor:
    """``y0``: the low-resolution image enlarged ``scale`` times by bicubic interpolation (N, 3, H, W)."""
    return F.interpolate(lowres, scale_factor=scale, mode="bicubic", align_corners=False)


def training_loss(denoiser: nn.Module, lowres: torch.Tensor, highres: torch.Tensor, etas: torch.Tensor,
                  kappa: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One batch's mean squared error of the ``x0`` prediction at a uniformly drawn timestep.

    ``etas``: the schedule (T,) of :func:`residual_shift_schedule`.
    """
    upsampled = upsample(lowres, denoiser.scale)
    timestep = torch.randint(1, len(etas) + 1, (len(highres),), generator=generator)
    x_t = forward_sample(highres, upsampled, etas[timestep - 1], kappa, generator=generator)
    return F.mse_loss(denoiser(x_t, upsampled, timestep.to(highres.device)), highres)


def deterministic_step(x_t: torch.Tensor, predicted: torch.Tensor, upsampled: torch.Tensor, eta_t: float,
                       eta_s: float) -> torch.Tensor:
    """``x_s`` on the same noise as ``x_t``: no fresh noise, one output per starting noise (DDIM's idea).

    The noise ``x_t`` implies, ``(x_t - x0 - eta_t * (y0 - x0)) / (kappa * sqrt(eta_t))`` with
    ``x0 = predicted``, is put back at the level of ``eta_s``: ``x0 + eta_s * (y0 - x0) + sqrt(eta_s /
    eta_t) * (x_t - x0 - eta_t * (y0 - x0))``. An exact ``x0`` moves ``x_t`` along its own marginal
    (Song et al. 2021; SinSR, Wang et al. 2024, distils this map into one step).
    """
    residual = upsampled - predicted
    return predicted + eta_s * residual + math.sqrt(eta_s / eta_t) * (x_t - predicted - eta_t * residual)


def start_noise(upsampled: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise shaped like ``y0``, drawn on the CPU from ``generator`` (same seed, same noise)."""
    return torch.randn(upsampled.shape, generator=generator, dtype=upsampled.dtype).to(upsampled.device)


@torch.no_grad()
def sample(denoiser: nn.Module, lowres: torch.Tensor, etas: torch.Tensor, kappa: float, num_steps: int | None = None,
           generator: torch.Generator | None = None, deterministic: bool = False,
           noise: torch.Tensor | None = None) -> torch.Tensor:
    """``x0`` drawn by the reverse chain from ``x_T = y0 + kappa * sqrt(eta_T) * noise``, (N, 3, H, W).

    ``num_steps``: how many of the ``len(etas)`` timesteps to visit (:func:`sampling_timesteps`;
    None: all). Each step predicts ``x0`` and then either draws ``x_s`` from the posterior
    (:func:`posterior`, fresh noise from ``generator``) or, ``deterministic``, moves along the
    starting noise (:func:`deterministic_step`). ``noise``: the starting noise (N, 3, H, W), else
    drawn from ``generator``. Same seed, same samples. Not clipped: clip to [0, 1] before saving.
    """
    upsampled = upsample(lowres, denoiser.scale)
    timesteps = sampling_timesteps(len(etas), num_steps or len(etas))
    noise = start_noise(upsampled, generator) if noise is None else noise
    x_t = upsampled + kappa * math.sqrt(float(etas[timesteps[0] - 1])) * noise
    for index, timestep in enumerate(timesteps):
        eta_t = float(etas[timestep - 1])
        eta_s = float(etas[timesteps[index + 1] - 1]) if index + 1 < len(timesteps) else 0.0
        batch = torch.full((len(lowres),), timestep, dtype=torch.long, device=lowres.device)
        predicted = denoiser(x_t, upsampled, batch)
        if deterministic:
            x_t = deterministic_step(x_t, predicted, upsampled, eta_t, eta_s)
        else:
            mean, deviation = posterior(x_t, predicted, eta_t, eta_s, kappa)
            x_t = mean + deviation * start_noise(upsampled, generator) if deviation > 0 else mean
    return x_t


def distillation_loss(student: nn.Module, teacher: nn.Module, lowres: torch.Tensor, etas: torch.Tensor, kappa: float,
                      teacher_steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error between a one-step student and the teacher's deterministic chain on the same noise.

    SinSR's idea (Wang et al. 2024): the deterministic sampler is a fixed map from the starting
    noise (and ``y0``) to an image, so a network can learn to jump there in one step. The student
    (a :class:`Denoiser`, best started from the teacher's weights) sees ``x_T`` at timestep ``T``,
    as :func:`sample` with ``num_steps=1`` will show it.
    """
    upsampled = upsample(lowres, student.scale)
    noise = start_noise(upsampled, generator)
    target = sample(teacher, lowres, etas, kappa, teacher_steps, deterministic=True, noise=noise)
    x_last = upsampled + kappa * math.sqrt(float(etas[-1])) * noise
    timestep = torch.full((len(lowres),), len(etas), dtype=torch.long, device=lowres.device)
    return F.mse_loss(student(x_last, upsampled, timestep), target)


@dataclass(frozen=True)
class SamplerSettings:
    """How a trained denoiser is sampled; the zoo keeps these in a diffusion model's metadata.

    ``train_steps`` and ``kappa`` define the schedule it was trained on and cannot change after
    training; ``num_steps`` (1..train_steps), ``seed`` and ``deterministic`` can.
    """
    train_steps: int = 15
    kappa: float = 2.0
    num_steps: int = 15
    seed: int = 0
    deterministic: bool = False

    def __post_init__(self):
        sampling_timesteps(self.train_steps, self.num_steps)  # raises for a step count out of range
        if self.kappa <= 0:
            raise ValueError(f"kappa (the noise level) must be positive, not {self.kappa}")

    def asdict(self) -> dict:
        return asdict(self)


class DiffusionUpscaler(nn.Module):
    """A denoiser and its sampler as one module: ``lowres`` (N, 3, h, w) -> ``highres`` (N, 3, s*h, s*w).

    Each call draws its noise from a generator seeded with ``settings.seed``, so the same input
    gives the same output (as every other zoo model does); change the seed for another sample.
    """

    def __init__(self, denoiser: Denoiser, settings: SamplerSettings = SamplerSettings()):
        super().__init__()
        self.denoiser, self.settings = denoiser, settings
        # a plain attribute, not a buffer: the sampler reads it as Python floats, so casting the
        # module (.half(), .to(...)) leaves the schedule exact and the file holds the denoiser only
        self.etas = residual_shift_schedule(settings.train_steps, settings.kappa)

    @property
    def scale(self) -> int:
        return self.denoiser.scale

    def with_settings(self, **changes) -> "DiffusionUpscaler":
        """The same denoiser (shared, not copied) sampled with other settings (``num_steps``, ``seed``...)."""
        settings = SamplerSettings(**{**self.settings.asdict(), **changes})
        return DiffusionUpscaler(self.denoiser, settings)

    def forward(self, lowres: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.settings.seed)
        return sample(self.denoiser, lowres, self.etas, self.settings.kappa, self.settings.num_steps,
                      generator=generator, deterministic=self.settings.deterministic)
