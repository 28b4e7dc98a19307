"""srlib.plotting draws what it is given and saves only when asked; notebook tooling."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from srlib import config, plotting  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402


def test_figures_and_saving(tmp_path):
    image = synthetic_photo(40, 40)
    figure = plotting.show_images({"a": image, "b": 1 - image}, path=tmp_path / "grid.png")
    assert len([axis for axis in figure.axes if axis.images]) == 2 and (tmp_path / "grid.png").exists()
    figure = plotting.compare_crops({"x": {"m1": image, "m2": image}}, {"x": (5, 5, 10)})
    assert figure.axes[0].images[0].get_array().shape[:2] == (10, 10)
    figure = plotting.plot_histories({"run": {"step_loss": [2.0, 1.0, 0.5]}, "psnr": {"step_loss": [-20.0, -30.0]}})
    lines = figure.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(lines[1].get_ydata(), [1.0, 0.5])  # a falling negative loss falls too
    np.testing.assert_allclose(lines[0].get_xdata(), [1, 2, 3])
    figure = plotting.plot_histories({"run": {"step_loss": [2.0, 1.0, 0.5], "step_stride": 3}})
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_xdata(), [1, 4, 7])  # steps, not points
    figure = plotting.bar_chart({"a": 30.0, "b": 28.5}, "PSNR", baseline=29.0, path=tmp_path / "bars.png")
    assert (tmp_path / "bars.png").stat().st_size > 0
    bars = figure.axes[0].patches  # drawn from the baseline: the differences, not the absolute values
    np.testing.assert_allclose([bar.get_height() for bar in bars], [1.0, -0.5])
    assert [text.get_text() for text in figure.axes[0].texts] == ["+1.00", "-0.50"]


def test_figure_path_only_when_the_main_job_asks(monkeypatch, tmp_path):
    from course.paths import figure_path

    monkeypatch.delenv("SRLIB_FIGURES", raising=False)
    assert figure_path("x.png") is None
    monkeypatch.setenv("SRLIB_FIGURES", str(tmp_path))
    monkeypatch.setenv("SRLIB_MODE", "fast")
    # A figure that does not name its run gets the mode: the fast main job never replaces a full run's.
    assert figure_path("unet_pixel_crops.png") == tmp_path / "unet_pixel_crops_fast.png"
    assert figure_path("autoencoder_fast_crops.png") == tmp_path / "autoencoder_fast_crops.png"
    assert figure_path("gan_full_history.png") == tmp_path / "gan_full_history.png"
    monkeypatch.setenv("SRLIB_MODE", "full")
    assert figure_path("unet_pixel_crops.png") == tmp_path / "unet_pixel_crops_full.png"


def test_run_mode(monkeypatch):
    monkeypatch.setenv("SRLIB_MODE", "full")
    assert config.run_mode() == "full" and not config.fast_mode()
    monkeypatch.setenv("SRLIB_MODE", "fast")
    assert config.fast_mode()
    monkeypatch.setenv("SRLIB_MODE", "quick")
    try:
        config.run_mode()
    except ValueError as error:
        assert "quick" in str(error)
    else:
        raise AssertionError("an unknown mode must be refused")


def test_notebook_outputs_lose_framework_log_lines():
    from course.notebooks import clean_stream

    noisy = ("I0000 00:00:1795.1 123 port.cc:153] oneDNN custom operations are on.\n"
             " step:  10%|#| 1/10\r step: 100%|#| 10/10\nkept\n")
    assert clean_stream(noisy) == " step: 100%|#| 10/10\nkept\n"
    # TensorFlow's line can also land right after a progress bar's first draw (mixed_bfloat16).
    after_bar = ("  MSE:   0%|  | 0/200 [00:00<?] E0000 00:00:1795693001.2 6321 util.cc:131] oneDNN supports DT_INT32\n"
                 "  MSE: 100%|##| 200/200 [00:17<00:00]\n")
    assert clean_stream(after_bar) == "  MSE: 100%|##| 200/200 [00:17<00:00]\n"


def test_main_job_gives_kernels_an_absolute_figure_folder(monkeypatch, tmp_path):
    import os

    from course import notebooks

    seen = {}

    def fake_execute(path, output=None, mode=None):
        seen[path.stem] = os.environ["SRLIB_FIGURES"]
        return 0.0

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SRLIB_FIGURES", raising=False)
    notebooks.run_all(tmp_path / "out", figures=config.Path("img"), names=["01_autoencoder_keras"], redo=True)
    # Kernels start in notebooks/, so a relative folder would land in notebooks/img.
    assert seen == {"01_autoencoder_keras": str(tmp_path / "img")}


def test_compare_crops_titles_each_crop_with_its_psnr_against_the_reference():
    from srlib import metrics

    rng = np.random.default_rng(0)
    original = rng.random((40, 40, 3)).astype(np.float32)
    noisy = np.clip(original + rng.normal(0, 0.05, original.shape), 0, 1).astype(np.float32)
    box = (8, 4, 16)
    figure = plotting.compare_crops({"x": {"original": original, "noisy": noisy}, "y": {"original": original,
                                                                                     "noisy": original}},
                                    {"x": box, "y": box}, reference="original")
    titles = [axis.get_title() for axis in figure.axes]
    expected = metrics.psnr(original[8:24, 4:20], noisy[8:24, 4:20], y_channel=True)
    assert titles[0] == "original" and titles[1] == f"noisy\n{expected:.2f} dB"
    assert titles[2] == "" and titles[3] == "inf dB"  # later rows: the score alone
