"""Score predictions against originals: per image, per method, with bicubic as the baseline.

:func:`evaluate` returns a :class:`ResultsTable` (Markdown and JSON output). Every tutorial
ends with one; ``srlib baseline`` prints the bicubic rows on their own. :func:`opencv_protocol`
scores under OpenCV dnn_superres's published protocol (:data:`OPENCV_MONARCH_X4`).
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (Evaluate section).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from srlib.arrays import mod_crop, to_float, to_uint8
from srlib.degrade import bicubic, opencv
from srlib.resize import upscale_bicubic
from srlib.io import load_image
from srlib.metrics import HIGHER_IS_BETTER, METRICS, psnr, score
from srlib.samples import load_folder


def as_images(source, what: str = "images") -> dict[str, np.ndarray]:
    """``{name: image}`` from a folder, a list of file paths, or a mapping (returned as is)."""
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, (str, Path)):
        return load_folder(source)
    if isinstance(source, (list, tuple)):
        return {Path(path).stem: load_image(path) for path in source}
    raise ValueError(f"{what}: expected a folder, a list of image files or a {{name: image}} mapping, "
                     f"got {type(source).__name__}")


@dataclass
class ResultsTable:
    """Rows of ``{'method', 'image', 'psnr', 'ssim', 'hfen'}`` and their per-method means."""

    rows: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def methods(self) -> list[str]:
        return list(dict.fromkeys(row["method"] for row in self.rows))

    def metric_names(self) -> list[str]:
        """The metrics the rows hold: PSNR, SSIM, HFEN, then any extra ones, in order."""
        names = list(dict.fromkeys(key for row in self.rows for key in row if key not in ("method", "image")))
        return [n for n in METRICS if n in names] + [n for n in names if n not in METRICS]

    def mean(self) -> dict[str, dict[str, float]]:
        """``{method: {metric: mean over images}}`` (PSNR averaged in dB, as SR papers do)."""
        return {method: {name: float(np.mean([row[name] for row in self.rows if row["method"] == method]))
                         for name in self.metric_names()}
                for method in self.methods()}

    def to_markdown(self, per_image: bool = False, baseline: str | None = "bicubic") -> str:
        """A Markdown table of the means (and every image with ``per_image``).

        With a ``baseline`` method present, a column gives each method's PSNR gain over it.
        """
        means = self.mean()
        names = self.metric_names()
        gain = baseline in means and "psnr" in names
        header = ["method"] + (["image"] if per_image else []) + [
            f"{COLUMN_TITLES.get(name, name)} {_direction(name)}" for name in names]
        if gain:
            header.append(f"PSNR gain over {baseline} (dB)")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

        def cells(values, reference):
            out = [_format(values[name], 2 if name == "psnr" else 4) for name in names]
            if gain:
                out.append(f"{values['psnr'] - reference:+.2f}")
            return out

        for method, values in means.items():
            if per_image:
                for row in (r for r in self.rows if r["method"] == method):
                    reference = next((r["psnr"] for r in self.rows
                                      if r["method"] == baseline and r["image"] == row["image"]), math.nan)
                    lines.append("| " + " | ".join([method, row["image"]] + cells(row, reference)) + " |")
            label = [method, "**mean**"] if per_image else [method]
            lines.append("| " + " | ".join(label + cells(values, means.get(baseline, {}).get("psnr", math.nan))) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"settings": self.settings, "mean": self.mean(), "rows": self.rows}

    def save_json(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=True) + "\n")
        return path


COLUMN_TITLES = {"psnr": "PSNR (dB)", "ssim": "SSIM", "hfen": "HFEN", "vgg": "VGG distance",
                 "mobilenet": "MobileNetV2 distance", "high_frequency": "high-frequency ratio"}
#: Columns best at 1 rather than high or low: a ratio to the original's (more than 1 is invented detail).
BEST_AT_ONE = {"high_frequency"}


def _direction(name: str) -> str:
    """The header's arrow: ↑ higher is better, ↓ lower is better, →1 closest to 1 is."""
    if name in BEST_AT_ONE:
        return "→1"
    return "↑" if HIGHER_IS_BETTER.get(name, False) else "↓"


def _format(value: float, digits: int) -> str:
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


def evaluate(highres, predictions=None, scale: int | None = None, crop_border: int | None = None,
             y_channel: bool = True, progress: bool = False, extra_metrics: dict | None = None) -> ResultsTable:
    """Score each method's predictions against the high-resolution originals.

    Args:
        highres: the originals: a folder, a list of image files, or ``{name: HWC image}``.
        predictions: ``{method: folder | list | {name: image}}``; images are matched by name
            (file stem). A single folder or mapping counts as one method called "prediction".
        scale: the SR factor. When given, originals are cropped to a multiple of it, a
            ``bicubic`` row is added (MATLAB bicubic down, then up), and ``crop_border``
            defaults to ``scale`` (the usual convention).
        y_channel: score the luma only (SR papers' convention) or all three RGB channels.
        extra_metrics: more columns, ``{name: f(highres, prediction, crop_border=...)}`` on the
            RGB images, e.g. ``{"vgg": srlib.torch.perceptual.vgg_distance}`` (lower is better).

    Raises ``ValueError`` naming the image when a prediction is missing or has the wrong size.
    """
    originals = as_images(highres, "highres")
    if not originals:
        raise ValueError("no high-resolution images to evaluate against")
    if scale is not None:
        originals = {name: mod_crop(to_float(image, name), scale) for name, image in originals.items()}
    crop_border = (scale or 0) if crop_border is None else crop_border
    methods: dict[str, dict[str, np.ndarray]] = {}
    if scale is not None:
        methods["bicubic"] = {name: upscale_bicubic(bicubic(image, scale), scale) for name, image in originals.items()}
    if predictions is not None:
        if isinstance(predictions, (str, Path, list, tuple)) or (
                isinstance(predictions, Mapping) and predictions and
                all(isinstance(value, np.ndarray) for value in predictions.values())):
            predictions = {"prediction": predictions}
        for method, source in predictions.items():
            methods[method] = as_images(source, f"predictions of {method}")
    table = ResultsTable(settings={"scale": scale, "crop_border": crop_border, "y_channel": y_channel})
    jobs = [(method, name) for method in methods for name in originals]
    for method, name in tqdm(jobs, desc="scoring", disable=not progress):
        if name not in methods[method]:
            raise ValueError(f"{method}: no prediction for image {name!r}")
        prediction = methods[method][name]
        if prediction.shape != originals[name].shape:
            raise ValueError(f"{method}: prediction for {name!r} is {prediction.shape}, "
                             f"the original is {originals[name].shape}")
        extra = {key: function(originals[name], prediction, crop_border=crop_border)
                 for key, function in (extra_metrics or {}).items()}
        table.rows.append({"method": method, "image": name,
                           **score(originals[name], prediction, crop_border=crop_border, y_channel=y_channel),
                           **extra})
    return table


#: OpenCV dnn_superres's published x4 table on Set14's ``monarch`` (768x512), the table "Benchmarks"
#: of opencv_contrib's ``modules/dnn_superres/README.md`` (made by
#: ``modules/dnn_superres/samples/dnn_superres_benchmark_quality.cpp``; the protocol of
#: :func:`opencv_protocol`): PSNR (dB), SSIM (OpenCV's ``quality::QualitySSIM``, the mean of the
#: three channels) and CPU seconds, as printed there. The bicubic, nearest and Lanczos rows are
#: OpenCV's own ``cv2.resize`` enlargements.
OPENCV_MONARCH_X4 = {
    "ESPCN": {"psnr": 26.5471, "ssim": 0.88116, "seconds": 0.01159},
    "EDSR": {"psnr": 29.2404, "ssim": 0.92112, "seconds": 3.26758},
    "FSRCNN": {"psnr": 26.5646, "ssim": 0.88064, "seconds": 0.01298},
    "LapSRN": {"psnr": 26.7330, "ssim": 0.88622, "seconds": 0.28257},
    "bicubic": {"psnr": 26.0635, "ssim": 0.87537, "seconds": 0.00031},
    "nearest": {"psnr": 23.5628, "ssim": 0.81741, "seconds": 0.00014},
    "lanczos": {"psnr": 25.9115, "ssim": 0.87057, "seconds": 0.00101},
}
#: The enlargements of the published table's interpolation rows, by their ``cv2`` flags.
OPENCV_ENLARGEMENTS = {"bicubic": "INTER_CUBIC", "nearest": "INTER_NEAREST", "lanczos": "INTER_LANCZOS4"}


def opencv_reduction(highres, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(lowres, highres)`` as OpenCV dnn_superres's quality benchmark makes them, both uint8 HWC:
    ``highres`` (HWC RGB, uint8 or float in [0, 1], rounded to 8 bits as ``cv2.imread`` reads a
    PNG) cropped at the bottom and right to a multiple of ``scale``, and reduced by
    ``cv2.resize(cropped, None, fx=1/scale, fy=1/scale)``: its default ``INTER_LINEAR``, without
    antialiasing, on the 8-bit samples."""
    cv2 = opencv()
    cropped = np.ascontiguousarray(mod_crop(to_uint8(highres, "highres"), scale))
    return cv2.resize(cropped, None, fx=1.0 / scale, fy=1.0 / scale), cropped


def opencv_protocol(highres, scale: int = 4, models: Mapping | None = None) -> dict[str, float]:
    """PSNR (dB) of enlargements under OpenCV dnn_superres's protocol (the one of
    :data:`OPENCV_MONARCH_X4`): :func:`opencv_reduction`, then RGB PSNR over all pixels and all
    three channels, no border cropped, on 8-bit images (``cv::PSNR``, which
    :func:`srlib.metrics.psnr` computes on uint8 with ``y_channel=False``).

    Returns ``{"bicubic", "nearest", "lanczos"}`` (``cv2.resize`` of the 8-bit reduction by
    ``fx=fy=scale`` with ``INTER_CUBIC``, ``INTER_NEAREST``, ``INTER_LANCZOS4``: the published
    table's interpolation rows, reproduced to its last digit on ``monarch`` at x4), then one
    entry per ``models`` item: ``{name: f(lowres) -> enlarged}``, ``lowres`` HWC float32 RGB in
    [0, 1] (the 8-bit reduction / 255), ``enlarged`` ``scale`` times larger, in [0, 1]; it is
    rounded to 8 bits, as dnn_superres's ``upsample`` writes. A ``ValueError`` names a model
    whose output has the wrong shape.
    """
    cv2 = opencv()
    lowres, reference = opencv_reduction(highres, scale)
    scores = {name: psnr(reference, cv2.resize(lowres, None, fx=scale, fy=scale, interpolation=getattr(cv2, flag)))
              for name, flag in OPENCV_ENLARGEMENTS.items()}
    for name, model in (models or {}).items():
        enlarged = np.asarray(model(lowres.astype(np.float32) / 255.0))
        if enlarged.shape != reference.shape:
            raise ValueError(f"{name}: enlarged {lowres.shape} to {enlarged.shape}, expected {reference.shape}")
        scores[name] = psnr(reference, to_uint8(np.clip(enlarged, 0.0, 1.0), f"{name}'s output"))
    return scores
