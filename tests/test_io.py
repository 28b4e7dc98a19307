"""srlib.io: every common file loads into one form; bad files get errors naming them."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from srlib.io import list_images, load_image, read_picture, save_image
from tests.conftest import synthetic_photo


def test_png_round_trip_is_exact(tmp_path, photo_uint8):
    path = save_image(tmp_path / "a.png", photo_uint8)
    loaded = load_image(path)
    assert loaded.dtype == np.float32 and loaded.shape == photo_uint8.shape
    np.testing.assert_array_equal(np.round(loaded * 255).astype(np.uint8), photo_uint8)


def test_16_bit_png_keeps_its_precision(tmp_path, photo):
    path = save_image(tmp_path / "deep.png", photo, bits=16)
    loaded = load_image(path)
    assert np.abs(loaded - photo).max() <= 0.5 / 65535 + 1e-7
    # 8 bits could not do this well: the error would reach half an 8-bit level.
    assert np.abs(loaded - photo).max() < 0.5 / 255 / 10


def test_16_bit_grayscale_png(tmp_path):
    gray = (np.arange(64 * 32).reshape(32, 64) * 30).astype(np.uint16)
    Image.fromarray(gray).save(tmp_path / "gray16.png")
    loaded = load_image(tmp_path / "gray16.png")
    np.testing.assert_allclose(loaded[..., 0], gray / 65535.0, atol=1e-6)
    np.testing.assert_array_equal(loaded[..., 0], loaded[..., 2])


def test_grayscale_becomes_three_equal_channels(tmp_path):
    Image.fromarray(np.full((5, 7), 200, np.uint8), mode="L").save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.shape == (5, 7, 3)
    np.testing.assert_allclose(loaded, 200 / 255, atol=1e-7)


def test_transparency_is_composited_over_the_background(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red ...
    rgba[:2, ..., 3] = 255  # ... opaque on the top half, fully transparent below
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "t.png")
    loaded = load_image(tmp_path / "t.png")
    np.testing.assert_allclose(loaded[0, 0], [1, 0, 0])
    np.testing.assert_allclose(loaded[3, 0], [1, 1, 1])  # white background
    np.testing.assert_allclose(load_image(tmp_path / "t.png", background=(0, 0, 0))[3, 0], [0, 0, 0])


def test_palette_image_with_transparency(tmp_path):
    image = Image.new("P", (6, 6), 1)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(0, (0, 0, 3, 6))
    image.save(tmp_path / "p.png", transparency=0)
    loaded = load_image(tmp_path / "p.png")
    np.testing.assert_allclose(loaded[0, 0], [1, 1, 1])  # transparent -> background
    np.testing.assert_allclose(loaded[0, 5], [0, 1, 0])


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red in CMYK
    loaded = load_image(tmp_path / "c.jpg")
    assert loaded.shape == (8, 8, 3)
    assert loaded[..., 0].mean() > 0.9 and loaded[..., 1:].mean() < 0.1


def test_exif_rotated_photo_comes_out_upright(tmp_path):
    array = np.zeros((10, 20, 3), np.uint8)
    array[:, :5] = 255  # a white band on the left of a landscape image
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(array).save(tmp_path / "r.jpg", exif=exif, quality=100)
    loaded = load_image(tmp_path / "r.jpg")
    assert loaded.shape == (20, 10, 3)  # portrait, as a viewer shows it
    assert loaded[:4].mean() > 0.9 and loaded[-4:].mean() < 0.1  # the band is now at the top


@pytest.mark.parametrize("suffix", [".bmp", ".tif", ".webp"])
def test_other_lossless_formats_round_trip(tmp_path, photo_uint8, suffix):
    path = tmp_path / f"x{suffix}"
    Image.fromarray(photo_uint8).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    np.testing.assert_array_equal(np.round(load_image(path) * 255).astype(np.uint8), photo_uint8)


def test_animated_gif_gives_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    loaded = load_image(tmp_path / "a.gif")
    assert loaded.shape == (4, 4, 3) and loaded[..., 0].mean() > 0.9


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        load_image(tmp_path / "nothere.png")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png.*empty"):
        load_image(tmp_path / "empty.png")


def test_text_file_named_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("these are not pixels")
    with pytest.raises(ValueError, match=r"notes\.jpg.*not an image"):
        load_image(tmp_path / "notes.jpg")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file(tmp_path, photo_uint8, suffix):
    path = tmp_path / f"cut{suffix}"
    Image.fromarray(photo_uint8).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"cut\\{suffix}"):
        load_image(path)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge size (a decompression bomb)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_declaring(20000, 20000))
    with pytest.raises(ValueError, match=r"bomb\.png.*20000x20000.*max_pixels=None"):
        load_image(path)


def test_max_pixels_override(tmp_path, photo_uint8):
    path = save_image(tmp_path / "a.png", photo_uint8)
    with pytest.raises(ValueError, match="megapixels"):
        load_image(path, max_pixels=100)
    assert load_image(path, max_pixels=None).shape == photo_uint8.shape


def test_save_never_overwrites_unless_asked(tmp_path, photo):
    path = save_image(tmp_path / "a.png", photo)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="a.png"):
        save_image(path, 1 - photo)
    assert path.read_bytes() == before
    save_image(path, 1 - photo, overwrite=True)
    assert path.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary files left behind


def test_save_refuses_a_0_255_float_image(tmp_path, photo):
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        save_image(tmp_path / "a.png", photo * 255)
    assert not list(tmp_path.iterdir())


def test_save_to_a_missing_folder(tmp_path, photo):
    with pytest.raises(FileNotFoundError, match="output folder"):
        save_image(tmp_path / "no" / "a.png", photo)


def test_list_images_filters_by_suffix(tmp_path, photo):
    save_image(tmp_path / "b.png", photo)
    save_image(tmp_path / "a.JPG", photo)
    (tmp_path / "readme.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    with pytest.raises(FileNotFoundError):
        list_images(tmp_path / "missing")


def test_one_pixel_image(tmp_path):
    Image.new("RGB", (1, 1), (10, 20, 30)).save(tmp_path / "dot.png")
    loaded = load_image(tmp_path / "dot.png")
    assert loaded.shape == (1, 1, 3)
    np.testing.assert_allclose(loaded[0, 0] * 255, [10, 20, 30], atol=1e-4)


def test_saved_files_get_ordinary_permissions(tmp_path, photo):
    import os
    import stat

    path = save_image(tmp_path / "a.png", photo)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_turned_as_pillow_turns_it(tmp_path, orientation):
    from PIL import ImageOps

    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    Image.fromarray(stored).save(tmp_path / "o.png", exif=exif)
    picture = read_picture(tmp_path / "o.png")
    with Image.open(tmp_path / "o.png") as image:
        np.testing.assert_array_equal(np.round(picture.pixels * 255), np.asarray(ImageOps.exif_transpose(image)))
    assert picture.exif is None  # the orientation was the only tag, and it is applied



def _srgb() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# (suffix, channels, bits) -> channels read back: 16-bit grey + alpha PNG is written as RGBA, WebP has no grey.
ROUND_TRIPS = {(".png", 1, 8): 1, (".png", 2, 8): 2, (".png", 3, 8): 3, (".png", 4, 8): 4, (".png", 1, 16): 1,
               (".png", 2, 16): 4, (".png", 3, 16): 3, (".png", 4, 16): 4, (".tif", 1, 8): 1, (".tif", 4, 8): 4,
               (".tif", 1, 16): 1, (".tif", 2, 16): 2, (".tif", 4, 16): 4, (".tif", 3, 32): 3, (".tif", 2, 32): 2,
               (".jpg", 1, 8): 1, (".jpg", 3, 8): 3, (".webp", 1, 8): 3, (".webp", 4, 8): 4}


@pytest.mark.parametrize("suffix, channels, bits", ROUND_TRIPS, ids=lambda value: str(value))
def test_pictures_keep_channels_depth_profile_and_exif(tmp_path, suffix, channels, bits):
    from srlib.io import Picture, write_picture

    pixels = synthetic_photo(12, 20)[..., :3 if channels >= 3 else 1]
    if channels in (2, 4):  # an alpha ramp, transparent on the left to opaque on the right
        pixels = np.concatenate([pixels, np.tile(np.linspace(0, 1, 20, dtype=np.float32), (12, 1))[..., None]], axis=2)
    exif = Image.Exif()
    exif[0x010F] = "srlib test camera"
    profile = _srgb() if channels >= 3 else None
    path = write_picture(tmp_path / f"picture{suffix}", Picture(pixels, bits, profile, exif.tobytes()))
    back = read_picture(path)
    assert back.pixels.shape == (12, 20, ROUND_TRIPS[suffix, channels, bits]) and back.bits == bits
    assert back.icc_profile == profile
    holds_exif = not (suffix == ".tif" and bits > 8)  # tifffile writes no EXIF
    assert (back.exif is not None and b"srlib test camera" in back.exif) == holds_exif
    returned = back.pixels if back.pixels.shape[2] == channels else back.pixels[..., [0, -1][:channels]]
    if suffix in (".jpg", ".webp"):
        assert np.abs(returned - pixels).mean() < 0.04  # lossy: the photo's fine noise goes
    else:
        assert np.abs(returned - pixels).max() <= 0.5 / {8: 255, 16: 65535, 32: 1e7}[bits] + 1e-6


@pytest.mark.parametrize("name, pixels, bits, message", [
    ("a.jpg", np.ones((4, 4, 4), np.float32), 8, r"a\.jpg: JPEG holds no transparency"),
    ("a.webp", np.ones((4, 4, 3), np.float32), 16, r"a\.webp: WEBP holds 8-bit samples, not 16"),
    ("a.png", np.ones((4, 4, 3), np.float32), 32, r"a\.png: PNG holds 8 or 16-bit samples, not 32"),
    ("a.gif", np.ones((4, 4, 3), np.float32), 8, r"a\.gif: cannot write \.gif"),
])
def test_what_a_format_cannot_hold_is_refused(tmp_path, name, pixels, bits, message):
    from srlib.io import Picture, write_picture

    with pytest.raises(ValueError, match=message):
        write_picture(tmp_path / name, Picture(pixels, bits))
    assert not list(tmp_path.iterdir())


def test_floating_point_tiff_outside_0_1_is_refused(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "hdr.tif", np.full((4, 4, 3), 3.5, np.float32), photometric="rgb")
    with pytest.raises(ValueError, match=r"hdr\.tif: floating-point image with values in \[3\.5, 3\.5\]"):
        read_picture(tmp_path / "hdr.tif")
