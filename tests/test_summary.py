"""The main job's results table (course.summary): rows recorded by notebooks, joined into one table."""
import json

import numpy as np
import pytest

from course import summary
from tests.conftest import synthetic_photo


def test_record_writes_nothing_outside_the_main_job(monkeypatch, tmp_path):
    monkeypatch.delenv("SRLIB_RESULTS", raising=False)
    assert summary.record("x", "task", {"a": synthetic_photo()}, {"m": {"a": synthetic_photo()}}, {}, 2) is None

    def details():  # timing a model's inference: only worth doing when something is recorded
        raise AssertionError("details computed outside the main job")

    assert summary.record("x", "task", {"a": synthetic_photo()}, {"m": {"a": synthetic_photo()}}, details, 2) is None


def test_recorded_studies_join_into_one_table(monkeypatch, tmp_path):
    monkeypatch.setenv("SRLIB_RESULTS", str(tmp_path))
    targets = {"a": synthetic_photo(48, 48), "b": synthetic_photo(48, 48, seed=1)}
    noisy = {n: np.clip(t + 0.05 * np.random.default_rng(0).standard_normal(t.shape), 0, 1).astype(np.float32)
             for n, t in targets.items()}
    details = {"model": {"parameters": 1000, "training_seconds": 12.0, "inference_seconds_per_megapixel": 0.5}}
    summary.record("autoencoder", "bicubic x2", targets, {"bicubic": noisy, "model": targets}, details, 2)
    summary.record("vae", "bicubic x2", targets, {"bicubic": noisy}, lambda: {}, 2)  # the same baseline again
    stored = json.loads((tmp_path / "autoencoder.json").read_text())
    assert {row["method"] for row in stored["rows"]} == {"bicubic", "model"}
    assert all(k in stored["rows"][0] for k in ("psnr", "ssim", "hfen", "vgg"))
    result = summary.combine(tmp_path)
    assert [row["method"] for row in result["rows"]] == ["bicubic", "model"]  # shared baseline listed once
    model_line = next(line for line in result["markdown"].splitlines() if "| model |" in line)
    assert "| inf |" in model_line and "| 1 k |" in model_line and "| 12 |" in model_line


def test_combine_without_results_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="SRLIB_RESULTS"):
        summary.combine(tmp_path)


def test_timed_predictions_reports_seconds_per_megapixel():
    predictions, seconds = summary.timed_predictions(lambda image: image, {"a": synthetic_photo(100, 100)})
    assert predictions["a"].shape == (100, 100, 3) and seconds >= 0
