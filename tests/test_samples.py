"""srlib.samples: the offline photo registry, its fixed split and the data/ writer."""
import json

import numpy as np
from PIL import Image
import pytest

from srlib.io import save_image
from srlib.samples import SAMPLE_PHOTOS, SAMPLES, load_folder, load_split, sample_names, write_samples


def test_split_is_fixed_and_disjoint():
    train, valid = sample_names("train"), sample_names("valid")
    assert valid == ["chelsea", "coffee", "kodim23", "monarch", "flower"]
    assert len(train) == 9 and not set(train) & set(valid)
    assert len(SAMPLES) == len(SAMPLE_PHOTOS)  # names are unique
    for photo in SAMPLE_PHOTOS:
        assert photo.licence and photo.credit and photo.package


def test_every_registered_photo_loads_offline():
    for photo in SAMPLE_PHOTOS:
        image = photo.load()
        assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 300, photo.name


def test_write_samples_is_idempotent_and_protects_edits(tmp_path):
    destination = write_samples(tmp_path / "samples", splits=("valid",), progress=False)
    manifest = json.loads((destination / "manifest.json").read_text())
    assert [r["name"] for r in manifest["photos"]] == sample_names("valid")
    record = manifest["photos"][0]
    assert record["licence"] == "CC0 1.0" and record["package"] == "scikit-image"
    assert (record["height"], record["width"]) == (300, 451)
    write_samples(destination, splits=("valid",), progress=False)  # second run: nothing to do
    edited = destination / "valid" / "chelsea.png"
    save_image(edited, np.zeros((300, 451, 3), np.uint8), overwrite=True)
    with pytest.raises(FileExistsError, match="chelsea.png"):
        write_samples(destination, splits=("valid",), progress=False)


def test_load_split_from_packages_or_from_a_user_folder(tmp_path, photo):
    valid = load_split("valid")
    assert list(valid) == sample_names("valid")
    (tmp_path / "valid").mkdir()
    save_image(tmp_path / "valid" / "mine.png", photo)
    mine = load_split("valid", tmp_path)
    assert list(mine) == ["mine"] and mine["mine"].shape == photo.shape
    with pytest.raises(ValueError, match="unknown split"):
        load_split("test")


def test_load_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        load_folder(tmp_path)
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(ValueError, match="bad.png"):
        load_folder(tmp_path)
    (tmp_path / "bad.png").unlink()
    save_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    save_image(tmp_path / "a.jpg", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="a.jpg and a.png .* share the name 'a'"):
        load_folder(tmp_path)  # one would have replaced the other in the results
    (tmp_path / "a.jpg").unlink()
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ValueError, match="gone.png: a dangling symbolic link"):
        load_folder(tmp_path)  # not silently left out of the score
    (tmp_path / "gone.png").unlink()
    assert list(load_folder(tmp_path)) == ["a"]


def test_write_wallpapers_reduces_the_largest_version_and_keeps_existing_files(tmp_path, monkeypatch):
    from srlib import samples

    monkeypatch.setattr(samples, "WALLPAPERS", ("One", "Two"))
    for name in ("One", "Two"):
        images = tmp_path / "source" / name / "contents" / "images"
        images.mkdir(parents=True)
        save_image(images / "40x32.jpg", np.full((32, 40, 3), 10, np.uint8))
        save_image(images / "80x64.jpg", np.full((64, 80, 3), 200, np.uint8))
    destination = samples.write_wallpapers(tmp_path / "out", source=tmp_path / "source", progress=False)
    written = load_folder(destination)
    assert list(written) == ["One", "Two"]
    assert written["One"].shape == (32, 40, 3) and abs(written["One"].mean() - 200 / 255) < 0.02  # the 80x64, halved
    save_image(destination / "One.png", np.zeros((8, 8, 3), np.uint8), overwrite=True)
    samples.write_wallpapers(destination, source=tmp_path / "nowhere", progress=False)  # nothing missing: no source read
    assert load_folder(destination)["One"].shape == (8, 8, 3)
    (destination / "Two.png").unlink()
    with pytest.raises(FileNotFoundError, match="nowhere/Two.*plasma-workspace-wallpapers"):
        samples.write_wallpapers(destination, source=tmp_path / "nowhere", progress=False)


def test_write_photos_reduces_each_by_a_whole_factor_and_credits_it(tmp_path, monkeypatch):
    import json

    from srlib import samples

    monkeypatch.setattr(samples, "PHOTOS", (
        samples.PackagePhoto("wide", "pkg-a", "usr/share/backgrounds/wide.jpg", "A. Author", "CC0-1.0"),
        samples.PackagePhoto("tall", "pkg-b", "usr/share/b/tall.png", "B. Author", "CC-BY-4.0")))
    monkeypatch.setattr(samples, "PHOTO_LONG_SIDE", 40)
    for package, path, shape in (("pkg-a", "usr/share/backgrounds/wide.jpg", (36, 90, 3)),
                                 ("pkg-b", "usr/share/b/tall.png", (60, 30, 4))):  # RGBA comes out RGB
        (tmp_path / "source" / package / path).parent.mkdir(parents=True)
        Image.fromarray(np.full(shape, 120, np.uint8)).save(tmp_path / "source" / package / path)
    assert samples.photo_reduction(36, 90, 40) == 3 and samples.photo_reduction(60, 30, 40) == 2
    assert samples.photo_reduction(10, 10, 40) == 2  # always at least halved: JPEG artefacts smoothed away
    destination = samples.write_photos(tmp_path / "out", source=tmp_path / "source", progress=False)
    written = load_folder(destination)
    assert written["wide"].shape == (12, 30, 3) and written["tall"].shape == (30, 15, 3)
    credits = json.loads((destination / "credits.json").read_text())
    assert [(c["name"], c["credit"], c["licence"], c["height"], c["width"]) for c in credits] == [
        ("wide", "A. Author", "CC0-1.0", 12, 30), ("tall", "B. Author", "CC-BY-4.0", 30, 15)]
    samples.write_photos(destination, source=tmp_path / "nowhere", progress=False)  # nothing missing: no source read
    (destination / "tall.png").unlink()
    with pytest.raises(FileNotFoundError, match="nowhere/pkg-b/usr/share/b/tall.png: missing from Debian's pkg-b"):
        samples.write_photos(destination, source=tmp_path / "nowhere", progress=False)


def test_the_package_photos_are_photographs_we_may_use():
    from srlib.samples import PHOTOS, POOL_SOURCES, WALLPAPERS

    assert len(PHOTOS) == 24 and len({photo.name for photo in PHOTOS}) == 24
    assert {photo.package for photo in PHOTOS} == {"lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
                                                  "lxqt-themes", "sddm-theme-maldives"}
    assert all(photo.licence in {"CC0-1.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0"}
               and photo.credit for photo in PHOTOS)
    reserved = {"mate-backgrounds", "opencv-doc"}  # kept for independent evaluation
    assert not {photo.package for photo in PHOTOS} & reserved
    assert not {photo.name for photo in PHOTOS} & {name.lower() for name in WALLPAPERS} & set(sample_names("valid"))
    assert POOL_SOURCES == ("samples", "wallpapers", "photos")


def test_the_pool_never_holds_validation_or_reserved_photos():
    from srlib.samples import WALLPAPERS, load_pool

    pool = load_pool(("samples",))
    assert list(pool) == sample_names("train")
    assert not {name.lower() for name in WALLPAPERS} & {"autumn", "mate", "opencv"}
    assert not set(sample_names("valid")) & {name.removeprefix("wallpaper_") for name in pool}
    with pytest.raises(ValueError, match="unknown pool source"):
        load_pool(("samples", "opencv"))

def _fake_tool(folder, name, script):
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_fetching_the_wallpaper_package_names_the_failing_step(tmp_path, monkeypatch):
    from srlib import samples

    tools = tmp_path / "bin"
    tools.mkdir()
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    _fake_tool(tools, "apt-get", "echo 'E: Unable to locate package' >&2; exit 100\n")
    _fake_tool(tools, "dpkg-deb", "exit 0\n")
    with pytest.raises(FileNotFoundError, match="apt-get download plasma-workspace-wallpapers: failed.*Unable to locate"):
        samples.fetch_wallpaper_package(tmp_path)
    _fake_tool(tools, "apt-get", f"touch {samples.WALLPAPER_PACKAGE}_1.0_all.deb\n")
    _fake_tool(tools, "dpkg-deb", "echo 'dpkg-deb: error: not a Debian format archive' >&2; exit 2\n")
    with pytest.raises(FileNotFoundError, match=r"_1\.0_all\.deb: dpkg-deb -x failed.*not a Debian format archive"):
        samples.fetch_wallpaper_package(tmp_path)
