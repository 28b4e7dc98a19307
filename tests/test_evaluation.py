"""srlib.evaluation's OpenCV dnn_superres protocol: the published monarch rows, reproduced."""
import numpy as np
import pytest

from srlib.evaluation import OPENCV_MONARCH_X4, opencv_protocol, opencv_reduction
from tests.conftest import synthetic_photo


def test_opencv_protocol_reproduces_the_published_monarch_table():
    """opencv_contrib's modules/dnn_superres/README.md: bicubic 26.0635, nearest 23.5628, Lanczos
    25.9115 dB on Set14's monarch at x4 (sporco ships the same 768x512 PNG)."""
    from srlib.samples import SAMPLES

    scores = opencv_protocol(SAMPLES["monarch"].load(), scale=4)
    for row in ("bicubic", "nearest", "lanczos"):
        assert scores[row] == pytest.approx(OPENCV_MONARCH_X4[row]["psnr"], abs=1e-4), row


def test_opencv_reduction_is_cv2_default_on_8_bits_and_models_are_rounded_to_8_bits():
    import cv2

    image = synthetic_photo(42, 61)
    lowres, highres = opencv_reduction(image, 4)
    assert lowres.dtype == highres.dtype == np.uint8
    assert lowres.shape == (10, 15, 3) and highres.shape == (40, 60, 3)
    eight_bit = np.round(image[:40, :60] * 255).astype(np.uint8)
    np.testing.assert_array_equal(highres, eight_bit)
    np.testing.assert_array_equal(lowres, cv2.resize(eight_bit, (15, 10), interpolation=cv2.INTER_LINEAR))

    def opencv_cubic(small):  # the bicubic row's enlargement, as a model on float input
        return cv2.resize(np.round(small * 255).astype(np.uint8), None, fx=4, fy=4,
                          interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255

    scores = opencv_protocol(image, 4, models={"cubic": opencv_cubic, "grey": lambda small: np.full((40, 60, 3), 0.5)})
    assert list(scores) == ["bicubic", "nearest", "lanczos", "cubic", "grey"]
    assert scores["cubic"] == scores["bicubic"]
    assert scores["grey"] < scores["nearest"] < scores["bicubic"]
    with pytest.raises(ValueError, match="small: enlarged .* to \\(20, 30, 3\\), expected \\(40, 60, 3\\)"):
        opencv_protocol(image, 4, models={"small": lambda small: np.zeros((20, 30, 3))})


def test_table_headers_say_which_way_each_column_is_better():
    from functools import partial

    from srlib.evaluation import evaluate
    from srlib.metrics import high_frequency_ratio
    from srlib.resize import upscale_bicubic, shrink

    image = synthetic_photo(64, 64, seed=3)
    blurred = upscale_bicubic(shrink(image, 16), 4)
    table = evaluate({"a": image}, {"blurred": {"a": blurred}}, crop_border=4,
                     extra_metrics={"high_frequency": partial(high_frequency_ratio, band=(0.25, 0.5))})
    header = table.to_markdown(baseline=None).splitlines()[0]
    assert "PSNR (dB) ↑" in header and "HFEN ↓" in header and "high-frequency ratio →1" in header
    assert 0.0 <= table.mean()["blurred"]["high_frequency"] < 0.5  # a 4x blur keeps little of the finest band
