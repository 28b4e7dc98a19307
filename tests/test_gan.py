"""The GAN tutorial's plot of a game (the NoGAN wiring itself is notebooks/04_gan, which the test
command runs too)."""
import matplotlib

from srlib.plotting import plot_gan_history

matplotlib.use("Agg")


def test_plot_gan_history_draws_both_players_and_validation():
    history = [(step, "critic" if step % 3 else "generator", 1.0 / (step + 1)) for step in range(30)]
    validation = [{"epoch": epoch, "psnr": 25.0 + epoch, "vgg": 0.5 - 0.01 * epoch} for epoch in (1, 2, 3)]
    figure = plot_gan_history(history, validation)
    assert len(figure.axes) >= 2
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert any("generator" in label for label in labels) and any("critic" in label for label in labels)
    assert len(plot_gan_history(history).axes) == 1  # without validation, one panel


def test_plot_gan_history_draws_the_measure_asked_for():
    history = [(step, "critic" if step % 2 else "generator", 1.0) for step in range(8)]
    validation = [{"epoch": epoch, "psnr": 25.0, "vgg": 0.5, "high_frequency": 0.1 * epoch} for epoch in (1, 2)]
    figure = plot_gan_history(history, validation, measure="high_frequency")
    right = figure.axes[-1]
    assert "high-frequency" in right.get_ylabel()
    assert list(right.get_lines()[0].get_ydata()) == [0.1, 0.2]
