"""benchmarks/pool.py: the curve of quality against the number of training photos (issue 15)."""
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import synthetic_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import pool  # noqa: E402  (benchmarks/pool.py; the benchmarks are scripts, not a package)


def small_pool(count: int) -> dict:
    return {f"photo_{index}": synthetic_photo(64 + 8 * index, 80, seed=index) for index in range(count)}


def test_pool_order_is_seeded_and_a_permutation():
    photos = small_pool(6)
    order = pool.pool_order(photos)
    assert sorted(order) == sorted(photos)
    assert order == pool.pool_order(dict(reversed(list(photos.items()))))  # the dict's order does not matter
    assert order != pool.pool_order(photos, seed=1)


def test_curve_trains_nested_subsets_with_equal_budgets_and_resumes(tmp_path):
    photos, validation = small_pool(4), {"held_out": synthetic_photo(64, 72, seed=9)}
    arguments = dict(sizes=[1, 3], features=4, blocks=1, steps=3, batch_size=2, workdir=tmp_path / "runs",
                     patch_size=16)
    first = pool.curve(photos, validation, **arguments)
    assert [point["photos"] for point in first["points"]] == [1, 3]
    order = first["order"]
    sizes = [sum(photos[name].shape[0] * photos[name].shape[1] for name in order[:n]) / 1e6 for n in (1, 3)]
    assert [point["megapixels"] for point in first["points"]] == pytest.approx(sizes)
    for point in first["points"]:
        for scores in (point["validation"], point["training"]):
            assert np.isfinite(scores["psnr"]) and scores["gain"] == pytest.approx(scores["psnr"] - scores["bicubic_psnr"])
    # the two runs trained on different photos, and the second call reads the finished runs back
    assert first["points"][0]["training"] != first["points"][1]["training"]
    again = pool.curve(photos, validation, **arguments)
    for before, after in zip(first["points"], again["points"]):
        seconds = before.pop("seconds"), after.pop("seconds")
        assert after == before and seconds[1] < seconds[0] + 1.0  # read back, not trained again
    with pytest.raises(ValueError, match="the pool has 4"):
        pool.curve(photos, validation, **{**arguments, "sizes": [5]})


def test_results_files_and_figure(tmp_path):
    photos, validation = small_pool(2), {"held_out": synthetic_photo(64, 72, seed=9)}
    result = {"machine": "test", "date": "today", "seen": None,
              "curve": pool.curve(photos, validation, sizes=[1, 2], features=4, blocks=1, steps=2, batch_size=2,
                                  workdir=tmp_path / "runs", patch_size=16)}
    text = pool.markdown(result)
    assert "| 1 |" in text and "| 2 |" in text and "EDSR 4 features x 1 blocks" in text
    score = {"psnr": 30.0, "bicubic_psnr": 29.0, "gain": 1.0}
    result["seen"] = {"a model": {"trained_on": ["samples"], "scale": 4, "validation": score, "wallpapers": score}}
    assert "| a model | x4 | samples | +1.00 (30.00) | +1.00 (30.00) |" in pool.markdown(result)
    pool.plot(result, tmp_path / "pool.png")
    assert (tmp_path / "pool.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
