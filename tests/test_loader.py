"""The image-folder loader on messy folders: what is loaded, skipped and said."""

import logging
import os

import numpy as np
import pytest
from PIL import Image

from conftest import folder_checksums, make_class_folder, save_gray, save_rgb
from ganaug_cli.config import DataConfig
from ganaug_cli.data import load_image_folder
from ganaug_cli.data import folder as folder_module
from ganaug_cli.errors import DataError


def load(path, **settings):
    settings.setdefault("cache", False)
    return load_image_folder(DataConfig(path=path, **settings))


def warnings_text(caplog):
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def test_classes_are_first_level_subfolders_and_nested_images_join_them(tmp_path):
    root = make_class_folder(tmp_path / "d")
    save_gray(root / "cat" / "deeper" / "deepest" / "n.png")
    data = load(root)
    assert data.class_names == ["cat", "dog"]
    assert data.class_counts() == [5, 4]
    assert data.images.shape == (9, 1, 28, 28) and data.images.dtype.is_floating_point is False


def test_a_flat_folder_is_one_class_named_after_it(tmp_path):
    for i in range(3):
        save_gray(tmp_path / "shoes" / f"{i}.png")
    data = load(tmp_path / "shoes")
    assert data.class_names == ["shoes"] and len(data.files) == 3


def test_zero_byte_truncated_and_text_files_are_skipped_and_named_in_one_warning(tmp_path, caplog):
    root = make_class_folder(tmp_path / "d")
    (root / "cat" / "empty.png").write_bytes(b"")
    good = (root / "cat" / "0.png").read_bytes()
    (root / "cat" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "dog" / "notes.jpg").write_text("this is not a picture")
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        data = load(root)
    assert len(data.files) == 8
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "cat/empty.png: empty file" in text
    assert "cat/truncated.png: truncated or corrupt" in text
    assert "dog/notes.jpg: not an image" in text


def test_strict_mode_turns_a_skip_into_an_error_naming_the_file(tmp_path):
    root = make_class_folder(tmp_path / "d")
    (root / "cat" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match="empty.png: empty file"):
        load(root, strict=True)


def test_palette_gif_uses_its_first_frame(tmp_path):
    frames = [Image.new("P", (28, 28), 0), Image.new("P", (28, 28), 1)]
    palette = [10, 10, 10, 250, 250, 250] + [0] * 762
    for frame in frames:
        frame.putpalette(palette)
    path = tmp_path / "d" / "anim.gif"
    path.parent.mkdir(parents=True)
    frames[0].save(path, save_all=True, append_images=frames[1:])
    data = load(path.parent)
    assert data.channels == "gray"
    assert int(data.images.float().mean()) == 10


def test_16_bit_tiff_is_scaled_to_8_bit(tmp_path):
    values = np.full((28, 28), 65535, dtype=np.uint16)
    values[:, :14] = 32768
    path = tmp_path / "d" / "deep.tif"
    path.parent.mkdir(parents=True)
    Image.fromarray(values).save(path)
    data = load(path.parent)
    row = data.images[0, 0, 14]
    assert row[0].item() == 128 and row[-1].item() == 255


def test_rgba_png_keeps_alpha_or_is_composited_on_the_background(tmp_path):
    path = tmp_path / "d" / "half.png"
    path.parent.mkdir(parents=True)
    image = Image.new("RGBA", (28, 28), (255, 0, 0, 255))
    image.paste((0, 0, 255, 0), (0, 0, 14, 28))  # left half fully transparent
    image.save(path)
    rgba = load(path.parent, channels="rgba")
    assert rgba.images.shape == (1, 4, 28, 28)
    assert rgba.images[0, 3, 0, 0] == 0 and rgba.images[0, 3, 0, 27] == 255
    rgb = load(path.parent, channels="rgb", background=(0, 255, 0))
    assert rgb.images[0, :, 5, 2].tolist() == [0, 255, 0]
    assert rgb.images[0, :, 5, 25].tolist() == [255, 0, 0]


def test_exif_rotated_jpeg_is_loaded_upright(tmp_path):
    wide = np.zeros((16, 32), dtype=np.uint8)
    wide[:, 16:] = 255  # stored: left half dark, right half bright
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the left half becomes the top
    path = tmp_path / "d" / "phone.jpg"
    path.parent.mkdir(parents=True)
    Image.fromarray(wide, "L").save(path, exif=exif, quality=95)
    data = load(path.parent, resolution=16, resize="stretch")
    image = data.images[0, 0].float()
    assert image[:6].mean() < 40 and image[-6:].mean() > 215


def test_upper_case_extensions_are_images(tmp_path):
    save_gray(tmp_path / "d" / "A.PNG", fmt="PNG")
    save_gray(tmp_path / "d" / "B.JPG", fmt="JPEG")
    assert len(load(tmp_path / "d").files) == 2


def test_hidden_files_and_folders_are_ignored(tmp_path):
    root = make_class_folder(tmp_path / "d")
    save_gray(root / ".thumbnails" / "x.png")
    save_gray(root / "cat" / ".hidden.png")
    save_gray(root / "cat" / ".cache" / "y.png")
    data = load(root)
    assert data.class_names == ["cat", "dog"] and len(data.files) == 8


def test_a_symlinked_duplicate_is_counted_once(tmp_path):
    root = make_class_folder(tmp_path / "d")
    os.symlink(root / "cat" / "0.png", root / "cat" / "again.png")
    os.symlink(root / "dog", root / "dog-link")  # a whole folder reached twice
    data = load(root)
    assert len(data.files) == 8


def test_loose_top_level_images_next_to_class_folders_are_skipped_and_counted(tmp_path, caplog):
    root = make_class_folder(tmp_path / "d")
    save_gray(root / "stray1.png")
    save_gray(root / "stray2.png")
    with caplog.at_level(logging.WARNING, logger="ganaug"):
        data = load(root)
    assert len(data.files) == 8
    assert "skipped 2 image(s) lying directly in the data folder" in warnings_text(caplog)


def test_missing_folder_and_folder_without_usable_images_are_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load(tmp_path / "empty")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="no usable images"):
        load(tmp_path / "broken")


def test_auto_channels_are_gray_only_when_every_image_is_gray(tmp_path):
    root = make_class_folder(tmp_path / "d")
    save_rgb(root / "cat" / "gray-as-rgb.png", colour=(90, 90, 90))
    assert load(root).channels == "gray"
    save_rgb(root / "dog" / "red.png")
    colour = load(root)
    assert colour.channels == "rgb" and colour.images.shape[1] == 3


def test_auto_resolution_picks_the_supported_size_above_the_typical_size(tmp_path):
    root = make_class_folder(tmp_path / "d", size=28)
    data = load_image_folder(DataConfig(path=root, cache=False), auto_sizes=(16, 32, 64))
    assert data.resolution == 32
    assert load(root).resolution == 28  # no supported list: the native size


def test_resize_policies_give_square_images(tmp_path):
    image = Image.new("L", (40, 20), 0)
    image.paste(255, (0, 0, 10, 20))  # a bright left quarter
    path = tmp_path / "d" / "wide.png"
    path.parent.mkdir(parents=True)
    image.save(path)
    crop = load(path.parent, resolution=20, resize="center-crop").images[0, 0]
    assert crop.float().mean() < 5  # the bright quarter is cut away
    pad = load(path.parent, resolution=20, resize="pad", background=(255, 255, 255)).images[0, 0]
    assert pad[0].float().mean() > 250 and pad[10, 10] < 5  # padding rows take the background
    stretch = load(path.parent, resolution=20, resize="stretch").images[0, 0]
    assert stretch[:, :3].float().mean() > 200


def test_loading_never_changes_the_data_folder(tmp_path):
    root = make_class_folder(tmp_path / "d")
    (root / "cat" / "empty.png").write_bytes(b"")
    os.symlink(root / "cat" / "0.png", root / "dog" / "link.png")
    before = folder_checksums(root)
    load_image_folder(DataConfig(path=root, cache=True))
    load_image_folder(DataConfig(path=root, cache=True))
    assert folder_checksums(root) == before


def test_the_second_load_comes_from_the_cache_outside_the_data_folder(tmp_path, monkeypatch):
    root = make_class_folder(tmp_path / "d")
    first = load_image_folder(DataConfig(path=root))
    assert list((tmp_path / "cache").glob("images-*.pt"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(folder_module, "_decode_folder", no_decoding)
    second = load_image_folder(DataConfig(path=root))
    assert second.images.equal(first.images) and second.class_names == first.class_names


def test_a_changed_file_or_setting_misses_the_cache(tmp_path):
    root = make_class_folder(tmp_path / "d")
    load_image_folder(DataConfig(path=root))
    save_gray(root / "cat" / "new.png")
    assert len(load_image_folder(DataConfig(path=root)).files) == 9
    assert load_image_folder(DataConfig(path=root, resolution=16)).resolution == 16


def test_no_cache_writes_no_cache_file(tmp_path):
    root = make_class_folder(tmp_path / "d")
    load_image_folder(DataConfig(path=root, cache=False))
    assert not (tmp_path / "cache").exists()


def save_transparent(path, mode):
    """A 28×28 image whose left 7 columns are transparent (alpha 0), the rest opaque."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":  # palette entry 0 is the transparent one
        image = Image.new("P", (28, 28), 1)
        image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
        image.paste(0, (0, 0, 7, 28))
        image.save(path, transparency=0)
    else:
        opaque, clear = {"RGBA": ((200, 30, 30, 255), (0, 0, 255, 0)), "LA": ((90, 255), (0, 0))}[mode]
        image = Image.new(mode, (28, 28), opaque)
        image.paste(clear, (0, 0, 7, 28))
        image.save(path)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_auto_channels_keep_alpha_when_some_image_is_really_transparent(tmp_path, mode):
    root = make_class_folder(tmp_path / "d")
    save_rgb(root / "dog" / "red.png")
    save_transparent(root / "cat" / "cut-out.png", mode)
    data = load(root)
    assert data.channels == "rgba" and data.images.shape[1] == 4
    alpha = data.images[data.files.index("cat/cut-out.png"), 3]
    assert alpha[:, :7].max() == 0 and alpha[:, 7:].min() == 255
    assert data.images[data.files.index("dog/red.png"), 3].min() == 255  # opaque images stay opaque


def test_auto_channels_ignore_an_alpha_channel_that_is_opaque_everywhere(tmp_path):
    for i in range(3):
        (tmp_path / "d").mkdir(exist_ok=True)
        Image.new("RGBA", (28, 28), (50 * i, 50 * i, 50 * i, 255)).save(tmp_path / "d" / f"gray{i}.png")
    assert load(tmp_path / "d").channels == "gray"
    Image.new("RGBA", (28, 28), (200, 30, 30, 255)).save(tmp_path / "d" / "red.png")
    assert load(tmp_path / "d").channels == "rgb"


def test_pad_bars_do_not_make_an_opaque_folder_rgba(tmp_path):
    for i in range(3):
        (tmp_path / "d").mkdir(exist_ok=True)
        Image.new("RGBA", (40, 20), (200, 30 * i, 30, 255)).save(tmp_path / "d" / f"wide{i}.png")
    save_rgb(tmp_path / "d" / "square.png")
    data = load(tmp_path / "d", resolution=20, resize="pad", background=(0, 255, 0))
    assert data.channels == "rgb"
    assert data.images[data.files.index("wide0.png"), :, 0, 10].tolist() == [0, 255, 0]  # bars take the background


def test_the_auto_channel_choice_is_logged_with_its_reason(tmp_path, caplog):
    def logged(path, **settings):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="ganaug"):
            load_image_folder(DataConfig(path=path, **settings))
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("channels:")]

    root = make_class_folder(tmp_path / "d")
    assert logged(root) == ["channels: gray (auto: every image is gray)"]
    assert logged(root) == ["channels: gray (auto: every image is gray)"]  # also when read from the cache
    save_rgb(root / "dog" / "red.png")
    assert logged(root) == ["channels: rgb (auto)"]
    save_transparent(root / "cat" / "cut-out.png", "RGBA")
    assert logged(root) == ["channels: rgba (auto: some images have transparency)"]
    assert logged(root, channels="rgb") == []  # an explicit choice needs no explanation
