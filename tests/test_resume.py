"""Interrupted training resumes to the same weights: the fastai callback of tutorials 2-3
(srlib.torch.callbacks.EpochCheckpoints) and the VAE loop of tutorial 5 (srlib.torch.vae.train)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fastai")

import fastai.callback.progress  # noqa: E402,F401 (progress bars, Learner.no_bar)
import fastai.callback.schedule  # noqa: E402,F401 (Learner.fit_one_cycle)
from fastai.callback.core import Callback  # noqa: E402
from fastai.learner import Learner  # noqa: E402
from torch import nn  # noqa: E402

from srlib import config  # noqa: E402
from srlib.patches import PairedPatches  # noqa: E402
from srlib.torch.vae import ConditionalVAE, train  # noqa: E402
from srlib.io import clear_states  # noqa: E402
from srlib.torch import checkpoints
from srlib.torch.callbacks import BFloat16Training, EpochCheckpoints  # noqa: E402
from srlib.torch.data import paired_data  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402


class Interrupt(Callback):
    """What Ctrl-C does to a notebook, after the checkpoint of epoch ``epoch`` was written."""
    order = 90

    def __init__(self, epoch):
        self.at = epoch

    def after_epoch(self):
        if self.epoch == self.at:
            raise KeyboardInterrupt


def small_learner(unet=False):
    """A tiny model on crappified crops; ``unet``: tutorial 2's U-Net learner itself (MobileNetV2 encoder)."""
    images = {f"p{s}": synthetic_photo(96, 96, seed=s) for s in range(2)}
    dls, _, _ = paired_data(images, images, "crappify", scale=1, patch_size=32, batch_size=2, steps_per_epoch=3,
                            highres_size=80, seed=3, device="cpu", fresh_damage=True)
    config.set_seed(5)
    if unet:
        from srlib.torch.models import unet_learner

        learn = unet_learner(dls, nn.MSELoss())
        learn.add_cb(BFloat16Training("auto"))
        return learn
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    return Learner(dls, model, loss_func=nn.MSELoss(), cbs=[BFloat16Training("auto")])


def two_stages(learn, folder, interrupt_at=None):
    """A frozen-then-unfrozen schedule like tutorial 2's, each stage with its own checkpoint file."""
    stages = [EpochCheckpoints(folder / "first.pt", {"seed": 5}), EpochCheckpoints(folder / "second.pt", {"seed": 5})]
    extra = [] if interrupt_at is None else [Interrupt(interrupt_at[1])]
    learn.freeze()
    learn.fit_one_cycle(2, 1e-2, cbs=[stages[0]] + (extra if interrupt_at and interrupt_at[0] == 0 else []))
    learn.unfreeze()
    learn.fit_one_cycle(3, slice(1e-4, 1e-2), cbs=[stages[1]] + (extra if interrupt_at and interrupt_at[0] == 1 else []))
    return stages


@pytest.mark.parametrize("interrupt_at, unet", [((0, 0), False), ((1, 1), False), ((1, 0), True)])
def test_fastai_fit_resumes_to_the_same_weights(tmp_path, interrupt_at, unet):
    uninterrupted = small_learner(unet)
    with uninterrupted.no_logging(), uninterrupted.no_bar():
        two_stages(uninterrupted, tmp_path / "straight")
    interrupted = small_learner(unet)
    with interrupted.no_logging(), interrupted.no_bar(), pytest.raises(KeyboardInterrupt):
        two_stages(interrupted, tmp_path / "resumed", interrupt_at)
    resumed = small_learner(unet)  # a new session: the notebook runs from the top again (bars and table shown)
    stages = two_stages(resumed, tmp_path / "resumed")
    assert stages[interrupt_at[0]].resumed_after == interrupt_at[1] + 1
    for (name, expected), actual in zip(uninterrupted.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(expected, actual), name
    assert len(resumed.recorder.losses) == len(uninterrupted.recorder.losses) == 9
    assert [float(v) for v in resumed.recorder.losses] == [float(v) for v in uninterrupted.recorder.losses]
    assert resumed.recorder.values == uninterrupted.recorder.values
    assert stages[1].seconds > 0
    clear_states(tmp_path / "resumed")
    assert not list((tmp_path / "resumed").glob("*.pt"))


def test_a_checkpoint_of_other_settings_is_not_used(tmp_path, capsys):
    learn = small_learner()
    with learn.no_logging(), learn.no_bar():
        learn.fit(1, 1e-2, cbs=EpochCheckpoints(tmp_path / "run.pt", {"seed": 5}))
        other = EpochCheckpoints(tmp_path / "run.pt", {"seed": 6})
        learn.fit(1, 1e-2, cbs=other)
    assert other.resumed_after == 0
    assert "written with other settings; starting afresh" in capsys.readouterr().out
    assert checkpoints.load_state(tmp_path / "run.pt", {"seed": 6, "epochs": 1})["epoch"] == 0


def test_tensor_subclasses_are_saved_as_plain_tensors(tmp_path):
    from fastai.torch_core import TensorBase

    state = {"optimiser": {"state": [{"grad_avg": TensorBase(torch.ones(2))}], "hypers": [{"lr": 0.1}]},
             "history": [(0, "critic", 0.5)], "weights": {1: {"w": torch.zeros(1)}}}
    checkpoints.save_state(tmp_path / "run.pt", state, {"seed": 1})
    loaded = checkpoints.load_state(tmp_path / "run.pt", {"seed": 1})  # a weights_only load
    assert type(loaded["optimiser"]["state"][0]["grad_avg"]) is torch.Tensor
    assert loaded["history"] == [(0, "critic", 0.5)] and torch.equal(loaded["weights"][1]["w"], torch.zeros(1))


def test_a_damaged_checkpoint_is_named(tmp_path):
    broken = tmp_path / "run.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="run.pt: not a readable checkpoint"):
        checkpoints.load_state(broken, {})


def test_random_state_round_trip():
    state = checkpoints.random_state()
    first = (np.random.rand(), torch.rand(1).item(), __import__("random").random())
    checkpoints.set_random_state(state)
    assert (np.random.rand(), torch.rand(1).item(), __import__("random").random()) == first


def test_vae_training_resumes_to_the_same_weights(tmp_path):
    images = {f"p{s}": synthetic_photo(64, 64, seed=s) for s in range(2)}

    def run(steps, stop_after=None, checkpoint=None):
        pairs = PairedPatches(images, "bicubic", scale=4, patch_size=16, length=8, upsample_input=True, seed=1)
        torch.manual_seed(0)
        model = ConditionalVAE(channels=8, latent_channels=2)
        history = train(model, pairs, steps, batch_size=4, kl_warmup_steps=3, precision="fp32", progress=False,
                        checkpoint=checkpoint, checkpoint_every=2, stop_after=stop_after)
        return model, history

    straight, straight_history = run(7)
    run(7, stop_after=5, checkpoint=tmp_path / "vae.pt")  # interrupted after step 5 (checkpoint at 4)
    torch.manual_seed(123)  # whatever the new session's generators hold
    resumed, resumed_history = run(7, checkpoint=tmp_path / "vae.pt")
    assert resumed_history["resumed_after"] == 4
    assert resumed_history["loss"] == straight_history["loss"]
    for expected, actual in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(expected, actual)


class Turns(Callback):
    """Records whose turn each training batch was, like tutorial 4's PlayerLosses, and saves it."""
    run_after = __import__("fastai.vision.gan", fromlist=["GANTrainer"]).GANTrainer

    def __init__(self):
        self.turns = []

    def after_batch(self):
        if self.training:
            self.turns.append("generator" if self.gan_trainer.gen_mode else "critic")

    def state_dict(self):
        return {"turns": list(self.turns), "generator_turn": self.gan_trainer.gen_mode}

    def load_state_dict(self, state):
        self.turns = list(state["turns"])
        self.gan_trainer.switch(state["generator_turn"])


def small_gan(folder, interrupt_at=None):
    from fastai.vision.gan import AdaptiveGANSwitcher, GANLearner

    generator = small_learner()
    config.set_seed(6)
    critic_model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3), nn.Flatten(),
                                 nn.AdaptiveAvgPool1d(1), nn.Flatten(0))
    critic = Learner(generator.dls, critic_model, loss_func=nn.BCEWithLogitsLoss())
    turns = Turns()
    learn = GANLearner.from_learners(generator, critic, weights_gen=(1.0, 10.0), show_img=False,
                                     switcher=AdaptiveGANSwitcher(critic_thresh=0.69), cbs=[turns])
    checkpoint = EpochCheckpoints(folder / "game.pt", {"seed": 6}, extra={"turns": turns})
    cbs = [checkpoint] + ([Interrupt(interrupt_at)] if interrupt_at is not None else [])
    with learn.no_logging(), learn.no_bar():
        learn.fit(3, 1e-3, cbs=cbs)
    return learn, turns, checkpoint


def test_gan_game_resumes_with_its_turns(tmp_path):
    straight, straight_turns, _ = small_gan(tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        small_gan(tmp_path / "resumed", interrupt_at=1)
    resumed, resumed_turns, checkpoint = small_gan(tmp_path / "resumed")
    assert checkpoint.resumed_after == 2
    assert resumed_turns.turns == straight_turns.turns and set(straight_turns.turns) == {"generator", "critic"}
    for (name, expected), actual in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(expected, actual), name
