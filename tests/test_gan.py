"""Tutorial 4's NoGAN pieces (srlib.gan_study) on tiny models: data for the critic, the critic's
learner, the GAN learner and the record of both players' turns."""
import numpy as np
import pytest
import torch
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from torch import nn

from srlib import gan_study
from srlib.plotting import plot_gan_history
from srlib.unet_study import UNetConfig


class TinyGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return x + 0.1 * self.conv(x)


def _dls(count=32, size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    highres = torch.rand(count, 3, size, size, generator=generator)
    lowres = (highres + 0.1 * torch.randn(count, 3, size, size, generator=generator)).clamp(0, 1)
    pairs = list(zip(lowres, highres))
    return DataLoaders.from_dsets(pairs[:24], pairs[24:], bs=4, shuffle=True, device=torch.device("cpu"))


def _config(**changes):
    return gan_study.GANConfig(unet=UNetConfig(batch_size=4), critic_features=8, critic_batches=4,
                               critic_batch_size=4, **changes)


def test_generated_crops_pair_predictions_with_originals():
    dls = _dls()
    images, labels = gan_study.generated_crops(TinyGenerator(), dls, batches=3)
    assert images.shape == (24, 3, 64, 64) and labels.shape == (24,)
    assert labels.sum() == 12  # half originals, half predictions
    assert 0 <= images.min() and images.max() <= 1


def test_critic_learner_trains_on_the_crops():
    images, labels = gan_study.generated_crops(TinyGenerator(), _dls(), batches=4)
    critic = gan_study.critic_learner(_config(), images, labels)
    with critic.no_bar(), critic.no_logging():
        critic.fit(1, 1e-3)
    loss, accuracy = critic.validate()
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    assert len(critic.dls.valid.dataset) == len(images) // 5


def test_gan_learner_alternates_players_and_records_their_losses():
    dls = _dls()
    generator = Learner(dls, TinyGenerator(), loss_func=nn.L1Loss())
    images, labels = gan_study.generated_crops(generator.model, dls, batches=4)
    critic = gan_study.critic_learner(_config(), images, labels)
    valid = {"a": np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)}
    recorder = gan_study.PlayerLosses(valid, {"a": valid["a"]})
    before = [p.detach().clone() for p in generator.model.parameters()]
    learn = gan_study.gan_learner(_config(critic_threshold=10.0), generator, critic, [recorder])  # switch every step
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    players = [player for _, player, _ in recorder.history]
    assert len(players) == 6 and set(players) == {"generator", "critic"}
    assert all(np.isfinite(loss) for _, _, loss in recorder.history)
    assert len(recorder.validation) == 1 and np.isfinite(recorder.validation[0]["psnr"])
    assert any(not torch.equal(a, b) for a, b in zip(before, generator.model.parameters()))  # the generator moved
    plot_gan_history(recorder.history, recorder.validation)


def test_modes_fit_their_budgets():
    fast, full = gan_study.GANConfig.for_mode("fast"), gan_study.GANConfig.for_mode("full")
    assert fast.critic_features < full.critic_features and fast.gan_epochs < full.gan_epochs
    with pytest.raises(ValueError):
        gan_study.GANConfig.for_mode("medium")
