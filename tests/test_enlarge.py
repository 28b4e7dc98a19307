"""`srlib upscale` and srlib.enlarge.upscale_file keep what the user gave: transparency, bit depth,
grey, colour profile, metadata, format, any output scale; tiles from free memory; two backends."""
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from srlib import enlarge, zoo
from srlib.cli import main
from srlib.io import Picture, read_picture, write_picture
from srlib.resize import imresize
from srlib.torch.inference import TILE_SIDES, tile_for_memory, upscale_array
from tests.conftest import synthetic_photo

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture
def tiny(tiny_model):
    """An Upscaler of the tiny random EDSR (x2), PyTorch in float32, whole images."""
    return enlarge.Upscaler(str(tiny_model), device="cpu", backend="torch", precision="fp32", tile=0)


def _logo(hidden: int) -> np.ndarray:
    """A 24x24 RGBA logo: a red square with a soft edge on pixels whose hidden colour is ``hidden``."""
    rgba = np.full((24, 24, 4), hidden, np.uint8)
    rgba[6:18, 6:18, :3] = (255, 0, 0)
    rgba[..., 3] = 0
    rgba[6:18, 6:18, 3] = 255
    rgba[5, 5:19, 3] = rgba[18, 5:19, 3] = rgba[5:19, 5, 3] = rgba[5:19, 18, 3] = 128  # half-covered edge pixels
    rgba[5, 5:19, :3] = rgba[18, 5:19, :3] = rgba[5:19, 5, :3] = rgba[5:19, 18, :3] = (255, 0, 0)
    return rgba


@pytest.fixture(scope="module")
def edsr_x2():
    return enlarge.Upscaler("edsr-x2", device="cpu", backend="torch", precision="fp32", tile=0)


@pytest.mark.parametrize("hidden", [0, 255], ids=["black", "white"])
def test_transparency_is_kept_without_fringes(tmp_path, edsr_x2, hidden):
    """A real model (edsr-x2) on a logo over transparent black or white: the visible edge stays red
    with the matte (measured: within 0.0043), and the control without it shows the fringe (1.0)."""
    Image.fromarray(_logo(hidden)).save(tmp_path / "logo.png")
    upscaler = edsr_x2
    written = enlarge.upscale_file(tmp_path / "logo.png", tmp_path / "big.png", upscaler)
    assert Image.open(written).mode == "RGBA" and Image.open(written).size == (48, 48)
    result, source = read_picture(written).pixels, read_picture(tmp_path / "logo.png").pixels
    np.testing.assert_allclose(result[..., 3], imresize(source[..., 3], size=(48, 48)), atol=0.5 / 255 + 1e-6)
    visible = result[..., 3] > 0.05
    assert np.abs(result[..., :3] - [1, 0, 0])[visible].max() < 2 / 255
    unmatted = upscaler(source[..., :3])  # the hidden colour goes into the model as it is
    assert np.abs(unmatted - [1, 0, 0])[visible].max() > 0.1


def test_opaque_alpha_stays_exactly_opaque(tmp_path, tiny):
    for bits, suffix in ((8, ".png"), (16, ".png"), (16, ".tif")):
        pixels = np.concatenate([synthetic_photo(10, 14), np.ones((10, 14, 1), np.float32)], axis=2)
        source = write_picture(tmp_path / f"opaque{bits}{suffix}", Picture(pixels, bits))
        output = read_picture(enlarge.upscale_file(source, tmp_path / f"out{bits}{suffix}", tiny, outscale=1.7))
        assert output.bits == bits and output.pixels.shape == (17, 24, 4)
        assert (output.pixels[..., 3] == 1.0).all()  # 255 or 65535 everywhere


@pytest.mark.parametrize("kind, expected_mode", [("L", "L"), ("LA", "LA"), ("P", "RGB"), ("P+transparency", "RGBA")])
def test_grey_and_palette_come_out_as_their_kind(tmp_path, tiny, kind, expected_mode):
    grey = np.round(synthetic_photo(12, 16)[..., 0] * 255).astype(np.uint8)
    if kind == "L":
        image = Image.fromarray(grey)
    elif kind == "LA":
        image = Image.fromarray(np.stack([grey, np.where(grey > 128, 255, 40).astype(np.uint8)], axis=2))
    else:
        image = Image.fromarray(np.round(synthetic_photo(12, 16) * 255).astype(np.uint8)).quantize(16)
    options = {"transparency": 0} if kind == "P+transparency" else {}
    image.save(tmp_path / "in.png", **options)
    written = enlarge.upscale_file(tmp_path / "in.png", tmp_path / "out.png", tiny)
    assert Image.open(written).mode == expected_mode and Image.open(written).size == (32, 24)
    if kind == "L":  # the grey through the model as three equal channels, and back as their mean
        expected = tiny(np.repeat(read_picture(tmp_path / "in.png").pixels, 3, axis=2)).mean(axis=2)
        np.testing.assert_allclose(np.asarray(Image.open(written)) / 255, expected, atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_stays_16_bit_with_no_rounding_to_8(tmp_path, tiny, channels):
    pixels = synthetic_photo(12, 16)[..., :channels]
    source = write_picture(tmp_path / "deep.png", Picture(pixels, bits=16))
    output = read_picture(enlarge.upscale_file(source, tmp_path / "out.png", tiny))
    assert output.bits == 16 and output.pixels.shape == (24, 32, channels)
    rgb = read_picture(source).pixels
    expected = tiny(np.repeat(rgb, 3, axis=2) if channels == 1 else rgb)
    expected = expected.mean(axis=2, keepdims=True) if channels == 1 else expected
    np.testing.assert_allclose(output.pixels, expected, atol=0.5 / 65535 + 1e-6)
    assert np.abs(output.pixels * 255 - np.round(output.pixels * 255)).max() > 0.1  # finer than 8-bit levels


def test_float_tiff_stays_float_and_becomes_16_bit_png_with_a_warning(tmp_path, tiny):
    source = write_picture(tmp_path / "render.tif", Picture(synthetic_photo(10, 12), bits=32))
    output = read_picture(enlarge.upscale_file(source, tmp_path / "out.tif", tiny))
    assert output.bits == 32
    np.testing.assert_allclose(output.pixels, tiny(read_picture(source).pixels), atol=1e-6)
    with pytest.warns(enlarge.UpscaleWarning, match=r"render\.tif: 32-bit samples written with 16 bits: PNG"):
        assert read_picture(enlarge.upscale_file(source, tmp_path / "out.png", tiny)).bits == 16


def test_icc_profile_and_exif_are_kept_and_the_orientation_applied(tmp_path, tiny):
    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "srlib test camera", 6  # Make; "rotate 90 degrees clockwise to display"
    exif.get_ifd(0x8769).update({0x9003: "2026:12:01 10:00:00", 0xA002: 20, 0xA003: 10})  # taken; pixel sizes
    array = np.zeros((10, 20, 3), np.uint8)
    array[:, :5] = 255  # a white band on the left of the stored landscape image
    Image.fromarray(array).save(tmp_path / "photo.jpg", exif=exif, icc_profile=SRGB, quality=100)
    upright = read_picture(tmp_path / "photo.jpg").pixels
    assert upright.shape == (20, 10, 3) and upright[:4].mean() > 0.9  # the band is now at the top
    for suffix in (".jpg", ".png", ".webp"):
        output = tmp_path / f"out{suffix}"
        enlarge.upscale_file(tmp_path / "photo.jpg", output, tiny)
        with Image.open(output) as image:
            written = image.getexif()
            assert image.size == (20, 40) and image.info["icc_profile"] == SRGB
        assert written[0x010F] == "srlib test camera" and 0x0112 not in written
        assert written.get_ifd(0x8769).get(0x9003) == "2026:12:01 10:00:00"
        assert not {0xA002, 0xA003} & set(written.get_ifd(0x8769))
    np.testing.assert_allclose(read_picture(tmp_path / "out.png").pixels, tiny(upright), atol=0.5 / 255 + 1e-6)


def test_cmyk_jpeg_comes_out_rgb_without_its_cmyk_profile(tmp_path, tiny):
    cmyk_profile = bytes(16) + b"CMYK" + bytes(108)  # a profile header naming CMYK; never applied
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", icc_profile=cmyk_profile)
    written = enlarge.upscale_file(tmp_path / "c.jpg", tmp_path / "out.jpg", tiny)
    with Image.open(written) as image:
        assert image.mode == "RGB" and image.format == "JPEG" and "icc_profile" not in image.info


def test_formats_and_quality(tmp_path, tiny, capsys, tiny_model):
    (tmp_path / "in").mkdir()
    write_picture(tmp_path / "in" / "a.png", Picture(synthetic_photo(16, 20), 8))
    names = {"same": "a.png", "png": "a.png", "jpg": "a.jpg", "webp": "a.webp", "tiff": "a.tif"}
    for format, name in names.items():
        folder = tmp_path / format
        assert main(["upscale", str(tmp_path / "in"), "-o", str(folder), "--model", str(tiny_model),
                     "--format", format]) == 0
        assert [path.name for path in folder.iterdir()] == [name]
        assert Image.open(folder / name).format == {"same": "PNG", "tiff": "TIFF", "jpg": "JPEG"}.get(
            format, format.upper())
    sizes = {}
    for quality in (10, 95):
        folder = tmp_path / f"q{quality}"
        assert main(["upscale", str(tmp_path / "in"), "-o", str(folder), "--model", str(tiny_model),
                     "--format", "jpg", "--quality", str(quality)]) == 0
        sizes[quality] = (folder / "a.jpg").stat().st_size
    assert sizes[10] < 0.8 * sizes[95]


def test_jpeg_output_of_a_transparent_image_is_composited_on_white_with_a_warning(tmp_path, tiny_model, capsys):
    Image.fromarray(_logo(0)).save(tmp_path / "logo.png")
    assert main(["upscale", str(tmp_path / "logo.png"), "-o", str(tmp_path / "out"), "--model", str(tiny_model),
                 "--format", "jpg"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: " in err and "logo.png: transparency composited over white" in err
    with Image.open(tmp_path / "out" / "logo.jpg") as image:
        assert image.mode == "RGB"
        assert np.asarray(image)[:6].min() > 245  # the transparent top rows are white


@pytest.mark.parametrize("options, size", [({}, (24, 32)), ({"outscale": 1.5}, (18, 24)), ({"outscale": 3}, (36, 48)),
                                           ({"outscale": 0.01}, (1, 1)), ({"width": 40}, (30, 40)),
                                           ({"height": 9}, (9, 12)), ({"width": 7, "height": 50}, (50, 7))])
def test_output_size(tmp_path, tiny, options, size):
    source = write_picture(tmp_path / "in.png", Picture(synthetic_photo(12, 16), 16))
    output = read_picture(enlarge.upscale_file(source, tmp_path / "out.png", tiny, **options)).pixels
    assert output.shape[:2] == size
    expected = tiny(read_picture(source).pixels)  # the model's scale, then the antialiased resize
    expected = expected if expected.shape[:2] == size else imresize(expected, size=size)
    np.testing.assert_allclose(output, expected, atol=0.5 / 65535 + 1e-6)


@pytest.mark.parametrize("arguments, message", [
    (["--outscale", "0"], "argument --outscale: must be a number greater than 0, not '0'"),
    (["--outscale", "-1"], "argument --outscale: must be a number greater than 0, not '-1'"),
    (["--outscale", "abc"], "argument --outscale: must be a number greater than 0, not 'abc'"),
    (["--outscale", "inf"], "argument --outscale: must be a number greater than 0, not 'inf'"),
    (["--width", "0"], "argument --width: must be a whole number of pixels greater than 0, not '0'"),
    (["--height", "2.5"], "argument --height: must be a whole number of pixels greater than 0, not '2.5'"),
    (["--quality", "101"], "argument --quality: must be a whole number from 1 to 100, not '101'"),
    (["--tile", "big"], "argument --tile: must be 'auto' or a whole number of pixels"),
    (["--format", "gif"], "argument --format: invalid choice: 'gif'"),
])
def test_bad_options_are_one_line(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as stop:
        main(["upscale", str(tmp_path), "-o", str(tmp_path / "out"), *arguments])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("srlib upscale: error: ")


def test_outscale_with_a_width_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(zoo, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    assert main(["upscale", str(tmp_path), "-o", str(tmp_path / "out"), "--outscale", "2", "--width", "10"]) == 2
    assert capsys.readouterr().err == ("error: outscale and width/height cannot be combined: give one "
                                       "(--outscale F, or --width and/or --height)\n")
    with pytest.raises(ValueError, match="outscale must be a number greater than 0"):
        enlarge.output_size(4, 4, 2, outscale=0)


def test_the_python_function_does_what_the_command_does(tmp_path, tiny_model, capsys):
    Image.fromarray(_logo(0)).convert("LA").save(tmp_path / "logo.png")
    assert main(["upscale", str(tmp_path / "logo.png"), "-o", str(tmp_path / "cli"), "--model", str(tiny_model),
                 "--outscale", "1.5", "--tile", "8"]) == 0
    (tmp_path / "python").mkdir()
    written = enlarge.upscale_file(tmp_path / "logo.png", tmp_path / "python", model=str(tiny_model), outscale=1.5,
                                   tile=8)
    assert written == tmp_path / "python" / "logo.png"
    assert written.read_bytes() == (tmp_path / "cli" / "logo.png").read_bytes()
    before = written.read_bytes()
    with pytest.raises(FileExistsError, match="logo.png: exists already"):
        enlarge.upscale_file(tmp_path / "logo.png", written, model=str(tiny_model))
    assert written.read_bytes() == before


def test_tiled_output_equals_the_whole_image(tiny):
    """EDSR's tiles overlap by its receptive radius, so 8-pixel tiles give the whole image's
    output up to float rounding (largest difference measured in float32 on this project's CPU: 0)."""
    image = synthetic_photo(21, 30)
    whole = upscale_array(tiny.model, image, 2, tile=None, precision="fp32")
    tiled = upscale_array(tiny.model, image, 2, tile=8, precision="fp32")
    assert np.abs(whole - tiled).max() < 1e-5


def test_tiles_are_sized_from_the_free_memory(tiny, monkeypatch):
    sides = [tile_for_memory(tiny.model, free_bytes=free) for free in (1, 2**24, 2**27, 2**40)]
    assert sides[0] == TILE_SIDES[-1] and sides[-1] == TILE_SIDES[0]
    assert sides == sorted(sides) and len(set(sides)) >= 3 and set(sides) <= set(TILE_SIDES)
    import srlib.torch.inference

    monkeypatch.setattr(srlib.torch.inference, "free_memory", lambda device: 2**24)
    assert enlarge.Upscaler((tiny.model, tiny.metadata), backend="torch", tile="auto").tile == sides[1]
    from srlib import config

    monkeypatch.setitem(sys.modules, "psutil", None)  # the /proc/meminfo fallback
    assert config.available_memory() > 2**20


def test_out_of_memory_retries_with_smaller_tiles(tiny, monkeypatch):
    image, upscale = synthetic_photo(40, 50), zoo.upscale
    expected = upscale(tiny.model, tiny.metadata, image, tile=None, precision="fp32")

    def small_memory(model, metadata, image, tile=None, **kwargs):
        if tile is None or tile > 32:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return upscale(model, metadata, image, tile=tile, **kwargs)

    monkeypatch.setattr(zoo, "upscale", small_memory)
    with pytest.warns(enlarge.UpscaleWarning, match="with tiles of 50 px: trying again with 32 px"):
        np.testing.assert_allclose(tiny(image), expected, atol=1e-5)
    assert tiny.tile == 32
    monkeypatch.setattr(zoo, "upscale", lambda *a, **k: (_ for _ in ()).throw(torch.OutOfMemoryError("no")))
    with warnings.catch_warnings(), pytest.raises(ValueError, match="out of memory on cpu even with tiles of 32 px"):
        warnings.simplefilter("ignore")
        tiny(image)


def test_onnx_runtime_backend_agrees_with_pytorch(tiny, tiny_model):
    onnx = enlarge.Upscaler(str(tiny_model), device="cpu", backend="onnxruntime", tile=16)
    assert onnx.describe().endswith("onnxruntime, fp32, tiles of 16 px")
    image = synthetic_photo(21, 30)
    assert np.abs(onnx(image) - tiny(image)).max() < 1e-5
    with pytest.raises(ValueError, match="computes in float32"):
        enlarge.Upscaler(str(tiny_model), device="cpu", backend="onnxruntime", precision="bf16")


def test_auto_backend_is_onnx_runtime_only_on_a_cpu_without_native_bfloat16(monkeypatch):
    import srlib.torch.precision

    monkeypatch.delenv("SRLIB_PRECISION", raising=False)
    for native, precision, device, expected in ((False, "auto", "cpu", "onnxruntime"), (False, "fp32", "cpu",
                                                "onnxruntime"), (False, "bf16", "cpu", "torch"),
                                                (True, "auto", "cpu", "torch"), (False, "auto", "cuda", "torch")):
        monkeypatch.setattr(srlib.torch.precision, "bfloat16_support", lambda device="cpu", native=native: (native, "test"))
        assert enlarge.choose_backend("auto", device, precision) == expected, (native, precision, device)
    monkeypatch.setattr(enlarge.importlib.util, "find_spec", lambda name: None)  # onnxruntime not installed
    assert enlarge.choose_backend("auto", "cpu", "auto") == "torch"
    assert enlarge.choose_backend("onnxruntime") == "onnxruntime"
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnxruntime"):
        enlarge.choose_backend("tensorflow")
