"""benchmarks/texture_probes.py: short probes of the perceptual and GAN recipes (issue 33).

Tiny stand-ins for the photos, the U-Net, VGG-16 and the MobileNetV2 judge, so that one probe of
each method trains 2 steps in well under a second."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import synthetic_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import texture_probes  # noqa: E402  (benchmarks/texture_probes.py; the benchmarks are scripts, not a package)

GRID = {"pixel": dict(method="pixel"),
        "perceptual": dict(method="perceptual", gram_weight=50.0),
        "gan": dict(method="gan", task="bicubic-x4", critic_features=4, critic_pretraining=0.5),
        "gan-feature": dict(method="gan", task="bicubic-x4", critic_features=4, critic_pretraining=0.5,
                            content="feature", pixel_weight=2.0, gram_weight=50.0),
        "gan-layers": dict(method="gan", task="bicubic-x4", critic_features=4, critic_pretraining=0.5,
                           content="feature", pixel_weight=2.0, gram_weight=50.0, layers=["relu2_2", "relu3_3"],
                           layer_weights=[2.0, 5.0])}
DATA = dict(pool=("samples",), highres_size=32, patch_size=32, batch_size=2, steps_per_epoch=2, fresh_damage=True,
            seed=0)


@pytest.fixture
def tiny(monkeypatch):
    """One small photo to score, one to train on, a two-convolution residual "U-Net" (its first
    layer the "encoder"), a one-convolution "VGG-16" and a plain L1 for the judge."""
    import torch
    from torch import nn

    class TinyUnet(nn.Module):
        def __init__(self):
            super().__init__()
            self.unet = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1))

        def forward(self, images):
            return images + self.unet(images)

    def feature_network():  # the feature loss reads layers 15, 22 and 29 (relu3_3, relu4_3, relu5_3)
        network = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), *[nn.Identity() for _ in range(28)])
        return network.requires_grad_(False).eval()

    built = []

    def start_model(start, device):
        built.append(start)
        return TinyUnet().to(device).train()

    monkeypatch.setattr(texture_probes, "validation_photos", lambda: {"crop": synthetic_photo(40, 48, seed=1)})
    monkeypatch.setattr(texture_probes, "training_pool", lambda sources: {"photo": synthetic_photo(48, 64, seed=2)})
    monkeypatch.setattr(texture_probes, "start_identity", lambda start: f"tiny {start}")
    monkeypatch.setattr(texture_probes, "start_model", start_model)
    monkeypatch.setattr(texture_probes, "feature_network", feature_network)
    monkeypatch.setattr(texture_probes, "judge",
                        lambda highres, prediction, crop_border: float(np.abs(highres - prediction).mean()))
    torch.set_num_threads(1)  # the same sums in the same order, run after run
    return built


def run(tmp_path, names, folder="run", steps=2, **options):
    return texture_probes.run_probes(names, steps, tmp_path / folder / "probes", grid=GRID, data=DATA,
                                     checkpoints=tmp_path / folder / "checkpoints", progress=False,
                                     command="pytest", **options)


def test_one_probe_of_each_method_writes_its_row_and_is_skipped_next_time(tmp_path, tiny):
    result = run(tmp_path, list(GRID))
    assert result["ran"] == list(GRID) and result["skipped"] == []
    written = json.loads((tmp_path / "run" / "probes.json").read_text())
    assert {"mode", "machine", "date", "command"} <= set(written) and written["command"] == "pytest"
    assert set(written["tasks"]) == {"crappify-x2", "bicubic-x4"}  # the inputs' own scores, per task
    for name, row in written["probes"].items():
        assert row["settings"]["method"] == GRID[name]["method"] and row["settings"]["steps"] == 2
        assert row["settings"]["data"] == {**DATA, "pool": list(DATA["pool"])}
        for key in ("psnr", "high_frequency_ratio", "mobilenet"):
            assert np.isfinite(row[key]) and set(row["per_photo"]) == {"crop"}
        assert row["high_frequency_ratio"] > 0 and row["seconds_per_step"] > 0 and row["cpu_seconds"] > 0
        assert (tmp_path / "run" / "probes" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        folder = tmp_path / "run" / "checkpoints" / "probes"  # a folder per results file
        assert not (folder / f"{name}.pt").exists() and (folder / f"{name}.predictions.npz").exists()
    gan = written["probes"]["gan"]
    feature = written["probes"]["gan-feature"]  # the same game with another content term: other numbers
    assert feature["history"][1]["critic"] == gan["history"][1]["critic"]  # the same critic pretraining
    assert feature["history"][-1]["loss"] != gan["history"][-1]["loss"]
    assert "feature 2, Gram 50" in texture_probes.describe(feature["settings"])
    layers = written["probes"]["gan-layers"]  # the content term on the layers the probe names
    assert layers["history"][-1]["loss"] != feature["history"][-1]["loss"]
    assert "feature (relu2_2 2, relu3_3 5) 2, Gram 50" in texture_probes.describe(layers["settings"])
    assert gan["settings"]["critic_steps"] == 1 and [set(row) for row in gan["history"]] == [
        {"step", "critic"}, {"step", "critic", "loss"}, {"step", "critic", "loss"}]
    assert written["probes"]["perceptual"]["crops_reference"] == "pixel"  # the pixel probe's crops beside it
    assert "| pixel | pixel |" in (tmp_path / "run" / "probes.md").read_text()
    assert "shrunk to a 32-pixel shorter side" in (tmp_path / "run" / "probes.md").read_text()

    built = len(tiny)
    again = run(tmp_path, list(GRID))
    assert again["ran"] == [] and again["skipped"] == list(GRID) and len(tiny) == built  # nothing trained
    assert run(tmp_path, ["pixel"], steps=1)["ran"] == ["pixel"]  # other settings: run again


def test_probes_are_seeded_and_resume_from_their_checkpoints(tmp_path, tiny, monkeypatch):
    from srlib.torch import checkpoints

    first, second = (run(tmp_path, ["gan"], folder=folder)["probes"]["gan"] for folder in ("first", "second"))
    assert first["psnr"] == second["psnr"] and first["history"] == second["history"]

    saves, save_state = [], checkpoints.save_state

    def interrupted(path, state, settings):  # the run stops after its second checkpoint
        saves.append(save_state(path, state, settings))
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "save_state", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, ["gan"], folder="resumed", checkpoint_every=1)
    assert saves[-1].exists() and not (tmp_path / "resumed" / "probes.json").exists()
    monkeypatch.setattr(checkpoints, "save_state", save_state)
    resumed = run(tmp_path, ["gan"], folder="resumed", checkpoint_every=1)["probes"]["gan"]
    assert resumed["psnr"] == first["psnr"] and resumed["history"] == first["history"]
    assert resumed["mobilenet"] == first["mobilenet"]


def test_the_grid_names_known_methods_tasks_and_starts():
    for name, probe in texture_probes.GRID.items():
        settings = {**texture_probes.METHOD_DEFAULTS[probe["method"]], **probe}
        assert settings["task"] in texture_probes.TASKS and (settings["start"] in ("unet-pixel", "scratch")
                                                               or settings["start"].endswith(".safetensors")), name
    with pytest.raises(ValueError, match="unknown probe"):
        texture_probes.probe_settings("nonsense", texture_probes.GRID, 10, texture_probes.DATA, "fp32", "cpu")


def test_list_prints_every_probe(capsys):
    assert texture_probes.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(texture_probes.GRID)


def test_the_command_line_refuses_photos_smaller_than_the_crops(capsys):
    with pytest.raises(SystemExit):
        texture_probes.main(["--probes", "pixel-x4", "--highres-size", "64"])
    assert "at least the crops' 96 pixels, got 64" in capsys.readouterr().err


def test_crop_boxes_follow_the_photos_size():
    targets = {"kodim23": np.zeros((384, 576, 3)), "other": np.zeros((384, 576, 3))}
    assert texture_probes.crop_boxes(targets) == {"kodim23": (66, 60, 64)}  # chosen on 192-pixel photos
    assert texture_probes.crop_boxes(targets, 384) == {"kodim23": (132, 120, 128)}
    assert texture_probes.crop_boxes({"other": targets["other"]}, 384) == {"other": (96, 192, 192)}  # centred


def test_a_probe_may_start_from_a_saved_unet(tmp_path):
    import torch

    from srlib.torch.checkpoints import digest, save_weights
    from srlib.torch.models import build_unet

    missing = tmp_path / "missing.safetensors"
    with pytest.raises(ValueError, match="no such weights file"):
        texture_probes.start_identity(str(missing))
    torch.manual_seed(0)
    saved = save_weights(build_unet(), tmp_path / "unet.safetensors", {"note": "a tutorial's run"})
    assert texture_probes.start_identity(str(saved)) == f"{saved} {digest(saved)}"  # a new file makes old rows stale
    model = texture_probes.start_model(str(saved), "cpu")
    assert model.training and next(model.parameters()).dtype == torch.float32
    from safetensors.torch import load_file

    written = load_file(str(saved))
    loaded = model.state_dict()
    assert set(loaded) == set(written)
    assert all(torch.equal(loaded[key], written[key]) for key in written)
