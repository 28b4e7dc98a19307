"""Helpers shared by the benchmarks: medians of repeated calls, seconds per megapixel, results files."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


def median_seconds(function, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``function()`` over ``repeats`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def seconds_per_megapixel(function, image, repeats: int, warmup: int = 0) -> float:
    """Median seconds of ``function(image)`` divided by its output's megapixels."""
    output = function(image)
    megapixels = output.shape[0] * output.shape[1] / 1e6
    return median_seconds(lambda: function(image), repeats, warmup) / megapixels


def write_results(output, result: dict, markdown: str) -> None:
    """``<output>.json`` (the numbers) and ``<output>.md`` (the report), folders made as needed."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    output.with_suffix(".md").write_text(markdown.rstrip("\n") + "\n")
