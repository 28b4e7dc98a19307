"""Figures shared by the tutorials: image grids, zoomed crops, training curves (matplotlib).

Every function returns the matplotlib ``Figure`` and, with ``path``, also saves it (PNG) for
the README's ``img/`` folder. Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from srlib.arrays import to_float

DPI = 72  # small PNGs in notebooks and the README; pass dpi= to savefig for print
plt.rcParams["figure.dpi"] = DPI  # what Jupyter's inline backend uses too


def _save(figure, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return figure


def show_images(images: dict, columns: int | None = None, size: float = 3.0, path=None):
    """A grid of ``{title: HWC image}``, each shown at its own aspect, without axes."""
    columns = columns or len(images)
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (title, image) in zip(axes.flat, images.items()):
        axis.imshow(to_float(image), interpolation="nearest")
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def crop(image: np.ndarray, box: tuple[int, int, int]) -> np.ndarray:
    """The square ``(top, left, size)`` region of an HWC image."""
    top, left, size = box
    return image[top: top + size, left: left + size]


def compare_crops(rows: dict, box_per_row: dict, labels=None, size: float = 2.2, path=None):
    """Zoomed crops side by side: one row per image, one column per method.

    ``rows`` maps an image name to ``{method: HWC image}`` (all the same size); ``box_per_row``
    maps the image name to its ``(top, left, size)`` crop. Pixels are shown enlarged without
    smoothing (nearest neighbour), so blur and ringing are the methods' own.
    """
    names = list(rows)
    methods = labels or list(rows[names[0]])
    figure, axes = plt.subplots(len(names), len(methods), figsize=(size * len(methods), size * len(names)),
                                squeeze=False)
    for row, name in enumerate(names):
        for column, method in enumerate(methods):
            axis = axes[row, column]
            axis.imshow(to_float(crop(rows[name][method], box_per_row[name])), interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(method, fontsize=9)
        axes[row, 0].set_ylabel(name, fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def plot_histories(histories: dict, key: str = "step_loss", relative: bool = True, path=None, title=None,
                   xlabel: str = "step"):
    """Training curves of several runs on one plot.

    With ``relative``, each curve is divided by its first value, so losses of different units
    (dB, SSIM, squared error) can share the axes: the plot compares how fast each falls.
    Curves that start negative (the PSNR loss) are shifted to start at 1 and scaled by their
    first magnitude instead.
    """
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for label, history in histories.items():
        values = np.asarray(history[key], dtype=float)
        if relative:
            values = values / values[0] if values[0] > 0 else 1 + (values - values[0]) / abs(values[0])
        axis.plot(np.arange(1, len(values) + 1), values, label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(f"{key} / first epoch's" if relative else key)
    axis.set_title(title or "training loss")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def bar_chart(values: dict, ylabel: str, baseline: float | None = None, path=None, title=None):
    """Bars of ``{label: value}``, with an optional horizontal baseline (e.g. bicubic)."""
    figure, axis = plt.subplots(figsize=(6, 3))
    labels = list(values)
    axis.bar(labels, [values[label] for label in labels], color="tab:blue")
    if baseline is not None:
        axis.axhline(baseline, color="tab:red", linestyle="--", label="bicubic")
        axis.legend(fontsize=8)
    axis.set_ylabel(ylabel)
    axis.set_title(title or "")
    axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    figure.tight_layout()
    return _save(figure, path)
