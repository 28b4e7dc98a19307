"""Figures shared by the tutorials: image grids, zoomed crops, training curves (matplotlib).

Every function returns the matplotlib ``Figure`` and, with ``path``, also saves it (PNG) for
the README's ``img/`` folder. Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from srlib.arrays import to_float
from srlib.config import main_process

DPI = 72  # small PNGs in notebooks and the README; pass dpi= to savefig for print
plt.rcParams["figure.dpi"] = DPI  # what Jupyter's inline backend uses too


def save(figure, path):
    """Save ``figure`` as a PNG at ``path`` (folders made as needed; nothing when ``path`` is None,
    or in a ``torchrun`` process other than rank 0); returns it."""
    if path is not None and main_process():
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
    return save(figure, path)


def crop(image: np.ndarray, box: tuple[int, int, int]) -> np.ndarray:
    """The square ``(top, left, size)`` region of an HWC image."""
    top, left, size = box
    return image[top: top + size, left: left + size]


def compare_crops(rows: dict, box_per_row: dict, labels=None, size: float = 2.2, path=None,
                  reference: str | None = None):
    """Zoomed crops side by side: one row per image, one column per method.

    ``rows`` maps an image name to ``{method: HWC image}`` (all the same size); ``box_per_row``
    maps the image name to its ``(top, left, size)`` crop. Pixels are shown enlarged without
    smoothing (nearest neighbour), so blur and ringing are the methods' own. With ``reference``
    (a method's name, say ``"original"``), every other crop's title gives its PSNR against that
    method's crop (dB, Y channel), so that differences too small to see still have a number.
    """
    from srlib.metrics import psnr

    names = list(rows)
    methods = labels or list(rows[names[0]])
    figure, axes = plt.subplots(len(names), len(methods), figsize=(size * len(methods), size * len(names)),
                                squeeze=False)
    for row, name in enumerate(names):
        for column, method in enumerate(methods):
            axis = axes[row, column]
            shown = to_float(crop(rows[name][method], box_per_row[name]))
            axis.imshow(shown, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            title = method if row == 0 else ""
            if reference is not None and method != reference:
                score = psnr(to_float(crop(rows[name][reference], box_per_row[name])), shown, y_channel=True)
                title = f"{title}\n{score:.2f} dB" if title else f"{score:.2f} dB"
            if title:
                axis.set_title(title, fontsize=9)
        axes[row, 0].set_ylabel(name, fontsize=9)
    figure.tight_layout()
    return save(figure, path)


def plot_histories(histories: dict, key: str = "step_loss", relative: bool = True, path=None, title=None,
                   xlabel: str = "step"):
    """Training curves of several runs on one plot.

    ``histories``: ``{label: {key: [values], "step_stride": k}}``; a history that kept one value
    every ``k`` steps (:func:`srlib.keras.training.fit`'s ``step_loss``) is drawn at steps 1, k + 1,
    2k + 1, ...; without ``step_stride``, at 1, 2, 3, ... With ``relative``, each curve is divided
    by its first value, so losses of different units (dB, SSIM, squared error) can share the axes:
    the plot compares how fast each falls. Curves that start negative (the PSNR loss) are shifted
    to start at 1 and scaled by their first magnitude instead.
    """
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for label, history in histories.items():
        values = np.asarray(history[key], dtype=float)
        if relative:
            values = values / values[0] if values[0] > 0 else 1 + (values - values[0]) / abs(values[0])
        axis.plot(np.arange(len(values)) * history.get("step_stride", 1) + 1, values, label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(f"{key}, relative to its first value" if relative else key)
    axis.set_title(title or "training loss")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return save(figure, path)


def bar_chart(values: dict, ylabel: str, baseline: float | None = None, path=None, title=None,
              baseline_label: str = "bicubic", digits: int = 2):
    """Bars of ``{label: value}``, each labelled with its value.

    With a ``baseline`` (e.g. bicubic's PSNR) the bars show ``value - baseline``, starting from
    the baseline's line, so that differences of a fraction of a dB between methods stay visible
    (bars of absolute PSNR starting at 0 dB would all look the same height).
    """
    figure, axis = plt.subplots(figsize=(6.5, 3.2))
    labels = list(values)
    heights = [values[label] - (baseline or 0.0) for label in labels]
    colours = ["tab:blue" if height >= 0 else "tab:red" for height in heights]
    bars = axis.bar(labels, heights, color=colours)
    axis.bar_label(bars, labels=[f"{height:+.{digits}f}" if baseline is not None else f"{height:.{digits}f}"
                                 for height in heights], fontsize=7, padding=2)
    if baseline is not None:
        axis.axhline(0.0, color="black", linewidth=0.8)
        ylabel = f"{ylabel}, minus {baseline_label} ({baseline:.{digits}f})"
    axis.margins(y=0.15)
    axis.set_ylabel(ylabel, fontsize=8)
    axis.set_title(title or "")
    axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return save(figure, path)


#: Labels of the measures :func:`plot_gan_history` can draw beside the PSNR.
GAN_MEASURES = {"vgg": "VGG distance (lower is better)",
                "high_frequency": "high-frequency ratio (1: the photos')"}


def plot_gan_history(history, validation=None, path=None, smooth: int = 5, measure: str = "vgg"):
    """A GAN's two players: each one's loss on its own turns (left) and, per epoch, the
    generator's validation PSNR (Y channel, as the tables) and ``measure`` (right, when
    ``validation``, ``[{"epoch", "psnr", measure}]``, is given): a key of :data:`GAN_MEASURES`,
    the VGG distance by default.

    ``history``: ``[(step, "generator" | "critic", loss)]`` as recorded by
    tutorial 4's ``PlayerLosses`` callback; losses are shown as running means of ``smooth`` turns.
    """
    panels = 2 if validation else 1
    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.5), squeeze=False)
    axis = axes[0, 0]
    for player, colour in (("generator", "tab:blue"), ("critic", "tab:red")):
        steps = np.array([step for step, who, _ in history if who == player])
        losses = np.array([loss for _, who, loss in history if who == player])
        if len(losses) == 0:
            continue
        width = max(1, min(smooth, len(losses)))
        smoothed = np.convolve(losses, np.ones(width) / width, mode="valid")
        axis.plot(steps[width - 1:], smoothed, color=colour, label=f"{player} ({len(losses)} turns)")
    axis.set_xlabel("training step")
    axis.set_ylabel("loss on its turns")
    axis.set_title("the two players")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    if validation:
        epochs = [entry["epoch"] for entry in validation]
        left = axes[0, 1]
        left.plot(epochs, [entry["psnr"] for entry in validation], "o-", color="tab:blue")
        left.set_xlabel("epoch")
        left.set_ylabel("validation PSNR, Y channel (dB)", color="tab:blue")
        right = left.twinx()
        right.plot(epochs, [entry[measure] for entry in validation], "s--", color="tab:green")
        right.set_ylabel(GAN_MEASURES[measure], color="tab:green")
        left.set_title("the generator after each epoch")
        left.grid(alpha=0.3)
    figure.tight_layout()
    return save(figure, path)


#: The approaches of the tutorials and the zoo, as pipelines of boxes and the loss that trains them.
APPROACHES = {
    "1. auto-encoder (Keras)": (["lowres,\nbicubic-upsampled", "encoder\nconv + pool", "decoder\nconv + upsample",
                                 "+ input\n(residual)", "highres"], "MSE, L1, SSIM, PSNR, HFEN... against the original"),
    "2. U-Net, pixel loss": (["crappified,\nupsampled", "MobileNetV2 encoder\n(ImageNet)", "decoder\n+ skip connections",
                              "+ input\n(residual)", "restored"], "MSE against the original"),
    "3. U-Net, perceptual loss": (["crappified,\nupsampled", "the same U-Net", "restored", "VGG-16\n(frozen, ImageNet)",
                                   "features\n+ Gram matrices"], "L1 of features and Gram matrices + L1 of pixels"),
    "4. GAN (NoGAN)": (["crappified,\nupsampled", "generator\n(the U-Net)", "restored", "patch critic\n(instance norm)",
                        "real or\nrestored?"], "generator: fool the critic + 500 L1;  critic: tell them apart"),
    "5. conditional VAE": (["highres + lowres\n(training only)", "encoder\nq(z | highres, lowres)", "z ~ N(mu, sigma)\n"
                            "(prior N(0, I) at test)", "decoder\np(highres | z, lowres)", "one of many\nplausible images"],
                           "reconstruction + KL weight x KL(q || prior)"),
    "zoo: EDSR-baseline": (["lowres", "head conv", "16 residual blocks\n(no batch norm)", "pixel shuffle\nx2 or x4",
                            "highres"], "L1 against the original"),
}


def draw_approaches(approaches: dict | None = None, path=None):
    """One row per approach: its pipeline as boxes and arrows, and the loss that trains it."""
    from matplotlib.patches import FancyBboxPatch

    approaches = approaches or APPROACHES
    figure, axes = plt.subplots(len(approaches), 1, figsize=(11, 1.45 * len(approaches)))
    for axis, (title, (boxes, loss)) in zip(np.atleast_1d(axes), approaches.items()):
        axis.set_xlim(0, len(boxes))
        axis.set_ylim(0, 1)
        axis.axis("off")
        axis.set_title(title, loc="left", fontsize=10, fontweight="bold")
        for index, label in enumerate(boxes):
            axis.add_patch(FancyBboxPatch((index + 0.08, 0.32), 0.74, 0.58, boxstyle="round,pad=0.02",
                                          facecolor="#dbe9f6" if 0 < index < len(boxes) - 1 else "#f2f2f2",
                                          edgecolor="#4a6a8a"))
            axis.text(index + 0.45, 0.61, label, ha="center", va="center", fontsize=8)
            if index:
                axis.annotate("", xy=(index + 0.08, 0.61), xytext=(index - 0.18, 0.61),
                              arrowprops={"arrowstyle": "->", "color": "#4a6a8a"})
        axis.text(0.08, 0.08, f"trained with: {loss}", fontsize=8, style="italic", color="#7a3b00")
    figure.tight_layout()
    return save(figure, path)
