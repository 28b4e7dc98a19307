"""benchmarks/zoo.py's ladder and OpenCV-protocol tables, on one tiny model and one small photo."""
import sys
from pathlib import Path

import pytest

from tests.conftest import synthetic_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import zoo as zoo_benchmark  # noqa: E402  (benchmarks/zoo.py; the benchmarks are scripts, not a package)


def test_ladder_and_opencv_tables(tiny_model):
    from srlib import zoo
    from srlib.degrade import LADDER

    models = zoo.list_models(tiny_model.parent)
    photos = {"p0": synthetic_photo(32, 36)}
    ladder = zoo_benchmark.camera_like(models, photos, LADDER, draws=1, scales=(2, 4), folder=tiny_model.parent)
    assert list(ladder) == list(LADDER) and all(list(rows) == ["tiny"] for rows in ladder.values())
    model, metadata = zoo.load_model(str(tiny_model), device="cpu")
    assert ladder["mild"]["tiny"]["gain"] == pytest.approx(
        zoo.evaluate_degradations(model, photos, metadata, ("mild",))["mild"]["gain"])
    assert ladder["heavy"]["tiny"]["trained_on"] == "bicubic"
    assert zoo_benchmark.camera_like(models, photos, LADDER, draws=1, folder=tiny_model.parent) == {
        level: {} for level in LADDER}  # an x2 model is not among the x4 ones
    opencv = zoo_benchmark.opencv_table(models, photos["p0"], scale=2, folder=tiny_model.parent)
    assert list(opencv["measured"]) == ["bicubic", "nearest", "lanczos", "tiny"] and opencv["published"] == {}
    report = zoo_benchmark.to_markdown({"machine": "test", "torch_threads": 1, "date": "today", "ladder": ladder,
                                        "opencv": opencv})
    assert "Quality on the 5 validation photos" not in report and "Peak resident memory" not in report
    row = ladder["moderate"]["tiny"]
    assert f"| moderate | tiny | bicubic | {row['psnr']:.2f} |" in report
    assert f"| tiny | {opencv['measured']['tiny']:.4f} | - |" in report
    published = zoo_benchmark.opencv_markdown({**opencv, "scale": 4, "published": zoo_benchmark.OPENCV_MONARCH_X4})
    assert "| ESPCN | - | 26.5471 |" in "\n".join(published)


def test_strength_table_sweeps_only_camera_models(tiny_model, camera_pair):
    from srlib import zoo

    models = zoo.list_models(tiny_model.parent)
    photos = {"p0": synthetic_photo(32, 36)}
    section = zoo_benchmark.strength_table(models, photos, draws=1, folder=tiny_model.parent, strengths=(0, 0.5, 1))
    assert list(section) == ["tiny-camera"]  # tiny names no faithful partner
    row = section["tiny-camera"]
    assert row["faithful"] == "tiny" and row["default_strength"] == 0.75 and list(row["sweep"]) == ["0", "0.5", "1"]
    sweep = {float(strength): rows for strength, rows in row["sweep"].items()}
    assert row["chosen"] == zoo.choose_strength(sweep)
    report = zoo_benchmark.to_markdown({"machine": "test", "torch_threads": 1, "date": "today", "strength": section})
    assert "`tiny-camera` blended with `tiny`" in report and f"picks **{row['chosen']:g}**" in report
    assert zoo.strength_markdown(sweep, "tiny-camera", row["chosen"]) in report
