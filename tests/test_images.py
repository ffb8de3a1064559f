"""One way to open image files (core/images.py) for vaelab read, screen, tiles and the defect data."""

import numpy as np
import pytest
from PIL import Image

from vaelab.command.screen import read_picture
from vaelab.core.images import UnreadableImageFile, grey8, has_transparency, open_image
from vaelab.insight.reading_pool import open_picture


def test_sixteen_bit_pixels_are_scaled_not_clipped(tmp_path):
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)    # 0 … 65520
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    grey = np.asarray(grey8(open_image(tmp_path / "ramp.png"), "ramp.png"))
    assert grey.dtype == np.uint8
    assert np.array_equal(grey, (ramp // 257).astype(np.uint8))          # PIL's convert clips at 255
    assert grey.max() >= 250 and (grey == 255).mean() < 0.01               # not saturated


def test_a_sixteen_bit_digit_screens_like_its_eight_bit_self(tmp_path):
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "eight.png")
    Image.fromarray(digit.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    assert np.array_equal(read_picture(tmp_path / "sixteen.png").image,
                          read_picture(tmp_path / "eight.png").image)


@pytest.mark.parametrize("bits", [8, 12])
def test_sixteen_bit_pictures_are_scaled_over_the_bits_their_values_need(tmp_path, bits):
    """A 12-bit camera's tile saved as 16-bit (values 0..4095), 8-bit values saved in 16 bits:
    divided by 257 they were all but black — a good tile scored defective, a digit blank."""
    picture = np.zeros((40, 40), np.uint8)
    picture[8:32, 16:24] = 255
    picture[8:12, 8:32] = 128
    Image.fromarray(picture).save(tmp_path / "eight.png")
    wide = np.round(picture.astype(np.float64) * (2 ** bits - 1) / 255).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    grey = np.asarray(grey8(open_image(tmp_path / "wide.png"), "wide.png"))
    assert np.abs(grey.astype(int) - picture).max() <= 1


def test_a_digit_on_a_transparent_canvas_screens_as_white_ink_on_black(tmp_path):
    """Transparent is MNIST's black paper: white ink on a transparent canvas reads as the digit
    itself; ink as dark as that paper vanishes, and the row says the picture is blank."""
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "plain.png")
    white = np.zeros((28, 28, 4), np.uint8)
    white[..., :3], white[..., 3] = 255, digit
    Image.fromarray(white).save(tmp_path / "white_ink.png")
    black = white.copy()
    black[..., :3] = 0
    Image.fromarray(black).save(tmp_path / "black_ink.png")
    assert np.array_equal(read_picture(tmp_path / "white_ink.png").image,
                          read_picture(tmp_path / "plain.png").image)
    assert read_picture(tmp_path / "white_ink.png").notes == ""
    assert "blank" in read_picture(tmp_path / "black_ink.png").notes


def test_unreadable_and_unsupported_files_name_the_file(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(UnreadableImageFile, match=r"text\.png: not a readable image"):
        open_image(tmp_path / "text.png")
    Image.fromarray(np.full((20, 20), 70000, np.int32), "I").save(tmp_path / "wide.tif")
    with pytest.raises(UnreadableImageFile, match=r"wide\.tif: 32-bit pixels outside 0\.\.65535"):
        grey8(open_image(tmp_path / "wide.tif"), tmp_path / "wide.tif")
    Image.fromarray(np.zeros((20, 20), np.float32), "F").save(tmp_path / "float.tif")
    with pytest.raises(UnreadableImageFile, match=r"float\.tif: floating-point pixels"):
        grey8(open_image(tmp_path / "float.tif"), tmp_path / "float.tif")
    Image.fromarray(np.zeros((300, 300), np.uint8)).save(tmp_path / "bomb.png")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000          # over twice this is refused before decoding
    try:
        with pytest.raises(UnreadableImageFile, match=r"bomb\.png: not a readable image"):
            open_image(tmp_path / "bomb.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def test_the_number_reader_keeps_transparency_and_reads_the_rest_as_grey(tmp_path):
    canvas = np.zeros((40, 60, 4), np.uint8)          # transparent black paper ...
    canvas[10:30, 20:24] = (0, 0, 0, 255)            # ... with an opaque black stroke
    Image.fromarray(canvas, "RGBA").save(tmp_path / "canvas.png")
    rgb = np.full((40, 60, 3), 255, np.uint8)
    rgb[10:30, 20:24] = 0
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    assert has_transparency(open_image(tmp_path / "canvas.png"))
    assert open_picture(tmp_path / "canvas.png").shape == (40, 60, 4)
    grey = open_picture(tmp_path / "photo.png")
    assert grey.shape == (40, 60) and grey[20, 21] == 0 and grey[0, 0] == 255


# how each EXIF orientation stores a picture a viewer shows as `shown` (the tag says how to undo it)
STORED_AS = {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
             5: lambda a: a.T, 6: lambda a: np.rot90(a, 1), 7: lambda a: np.rot90(a, 2).T,
             8: lambda a: np.rot90(a, -1)}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_a_photo_stored_sideways_is_opened_as_a_viewer_shows_it(tmp_path, orientation):
    shown = np.zeros((20, 30), np.uint8)
    shown[2:5, 3:20] = 255                            # no symmetry: every turn or mirror differs
    shown[10, 25] = 128
    exif = Image.Exif()
    exif[0x0112] = orientation                        # EXIF Orientation, as phones write it
    Image.fromarray(np.ascontiguousarray(STORED_AS[orientation](shown))).save(
        tmp_path / "photo.png", exif=exif)
    assert np.array_equal(np.asarray(open_image(tmp_path / "photo.png")), shown)
    assert np.array_equal(open_picture(tmp_path / "photo.png"), shown)


def test_a_damaged_exif_block_leaves_the_pixels_as_stored(tmp_path):
    stored = np.zeros((20, 30), np.uint8)
    stored[2:5, 3:20] = 255
    for suffix in ("png", "jpg"):
        Image.fromarray(stored).save(tmp_path / f"photo.{suffix}", exif=b"Exif\x00\x00garbage")
        assert np.asarray(open_image(tmp_path / f"photo.{suffix}")).shape == (20, 30)


def test_odd_files_and_modes_are_named_errors_and_big_ones_read_quietly(tmp_path):
    """A pipe is refused without being opened (reading it would wait forever), a missing file
    says so, a LAB picture names its mode, and a picture over PIL's warning size (but under its
    limit) reads without PIL's warning on stderr."""
    import os
    import warnings
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(UnreadableImageFile, match=r"pipe\.png: not a regular file"):
        open_image(tmp_path / "pipe.png")
    with pytest.raises(UnreadableImageFile, match=r"gone\.png: no such file"):
        open_image(tmp_path / "gone.png")
    Image.new("RGB", (30, 30), (200, 10, 10)).convert("LAB").save(tmp_path / "lab.tif")
    with pytest.raises(UnreadableImageFile, match=r"lab\.tif: LAB pixels are not supported"):
        grey8(open_image(tmp_path / "lab.tif"), tmp_path / "lab.tif")
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "big.png")
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000          # 1 600 pixels: over this warns, over twice refuses
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert open_image(tmp_path / "big.png").size == (40, 40)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _group4_tiff() -> bytearray:
    """A small bilevel TIFF, CCITT group 4: decoded by libtiff inside PIL, not by PIL itself."""
    import io
    bars = np.zeros((40, 60), np.uint8)
    bars[8:32, 10:16] = 255
    bars[8:32, 30:50] = 255
    bars[18:22, 30:50] = 0
    encoded = io.BytesIO()
    Image.fromarray(bars).convert("1").save(encoded, "TIFF", compression="group4")
    return bytearray(encoded.getvalue())


def _set_tag_type(tiff: bytearray, tag: int, kind: int) -> bytearray:
    """``tiff`` (little-endian, one directory) with ``tag``'s field type changed to ``kind``."""
    import struct
    assert tiff[:2] == b"II"
    directory = struct.unpack_from("<I", tiff, 4)[0]
    for entry in range(struct.unpack_from("<H", tiff, directory)[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack_from("<H", tiff, at)[0] == tag:
            struct.pack_into("<H", tiff, at + 2, kind)
            return tiff
    raise AssertionError(f"no tag {tag}")


def test_what_libtiff_says_about_a_damaged_tiff_is_in_the_error_not_on_stderr(tmp_path, capfd):
    """libtiff prints its errors on stderr, where a batch of thousands of files shows them with
    no file name: open_image puts them into the file's own error instead."""
    (tmp_path / "ok.tif").write_bytes(_group4_tiff())
    (tmp_path / "rows.tif").write_bytes(_set_tag_type(_group4_tiff(), 278, 12))  # RowsPerStrip: a double
    assert open_image(tmp_path / "ok.tif").size == (60, 40)
    with pytest.raises(UnreadableImageFile,
                       match=r"rows\.tif: not a readable image \(.*libtiff: .*RowsPerStrip"):
        open_image(tmp_path / "rows.tif")
    assert capfd.readouterr().err == ""
    assert open_image(tmp_path / "ok.tif").size == (60, 40)   # libtiff still decodes after it
    with pytest.raises(OSError), Image.open(tmp_path / "rows.tif") as direct:
        direct.load()                      # a decode outside open_image: libtiff's stderr as ever
    assert "RowsPerStrip" in capfd.readouterr().err


def test_a_tiff_libtiff_decodes_only_part_way_is_refused(tmp_path):
    """A bad code word in a group 4 strip: libtiff stops with an error, yet PIL returns the
    picture, its rows after the error holding whatever the decoder's buffer held before —
    another file's pixels in a batch. Refused, naming libtiff's message."""
    damaged = _group4_tiff()
    damaged[16] = 0                        # inside the strip (it starts at byte 8)
    (tmp_path / "damaged.tif").write_bytes(damaged)
    with pytest.raises(UnreadableImageFile, match=r"damaged\.tif: not a readable image "
                                                  r"\(decoding failed part-way; libtiff: Fax4Decode"):
        open_image(tmp_path / "damaged.tif")


def test_what_pil_logs_about_a_file_is_in_its_error_not_on_stderr(tmp_path, capfd):
    """A TIFF claiming 40 000 samples per pixel: PIL logged 'More samples per pixel than can be
    decoded' onto stderr, with no file name, and the error said only 'cannot identify'."""
    import io
    import struct
    encoded = io.BytesIO()
    Image.fromarray(np.full((64, 64), 100, np.uint8)).save(encoded, "TIFF", tiffinfo={277: 1})
    tiff = bytearray(encoded.getvalue())
    directory = struct.unpack_from("<I", tiff, 4)[0]
    for k in range(struct.unpack_from("<H", tiff, directory)[0]):
        entry = directory + 2 + 12 * k
        if struct.unpack_from("<H", tiff, entry)[0] == 277:      # SamplesPerPixel
            struct.pack_into("<H", tiff, entry + 8, 40000)
    (tmp_path / "spp.tif").write_bytes(bytes(tiff))
    with pytest.raises(UnreadableImageFile, match="spp.tif.*More samples per pixel"):
        open_image(tmp_path / "spp.tif")
    assert "samples" not in capfd.readouterr().err


def test_a_tiff_that_declares_its_largest_value_is_scaled_over_it(tmp_path):
    """A 12-bit camera's TIFF saying MaxSampleValue 4 095: a dark tile of it (brightest 900) is
    read as dark as it is, not over the 10 bits its values need (4 × as bright)."""
    dark = np.tile(np.linspace(0, 900, 64), (64, 1)).astype(np.uint16)
    Image.fromarray(dark).save(tmp_path / "declared.tif", tiffinfo={281: 4095})
    Image.fromarray(dark).save(tmp_path / "plain.tif")
    assert np.asarray(grey8(open_image(tmp_path / "declared.tif"), "d")).max() == 900 * 255 // 4095
    assert np.asarray(grey8(open_image(tmp_path / "plain.tif"), "p")).max() == 900 * 255 // 1023


def test_wide_pixels_are_scaled_a_few_rows_at_a_time(tmp_path, monkeypatch):
    """The same grey as scaling the whole picture at once (which held it as 8-byte integers:
    4.3 GB for one 13 000² 16-bit PNG of 1.6 MB), row blocks meeting anywhere."""
    import vaelab.core.images as images
    picture = np.random.default_rng(0).integers(0, 4096, (50, 33)).astype(np.uint16)
    Image.fromarray(picture).save(tmp_path / "p.png")
    whole = np.asarray(grey8(open_image(tmp_path / "p.png"), "p.png"))
    monkeypatch.setattr(images, "WIDE_ROWS", 7)
    assert np.array_equal(np.asarray(grey8(open_image(tmp_path / "p.png"), "p.png")), whole)
    assert np.array_equal(whole, (picture.astype(np.int64) * 255 // 4095).astype(np.uint8))


def test_a_file_of_several_pictures_is_refused_naming_them(tmp_path):
    """Only the first page of a TIFF (or frame of a GIF) was read, with no word of the others: a
    good tile then a defective one scored good."""
    pages = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (10, 200)]
    pages[0].save(tmp_path / "two.tif", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "two.gif", save_all=True, append_images=pages[1:])
    for name in ("two.tif", "two.gif"):
        with pytest.raises(UnreadableImageFile, match=rf"{name}: holds 2 pictures"):
            open_image(tmp_path / name)
    pages[0].save(tmp_path / "one.tif")
    assert open_image(tmp_path / "one.tif").size == (32, 32)
    # a phone's JPEG with its preview (MPO) is one picture: the first
    pages[0].save(tmp_path / "phone.jpg", format="MPO", save_all=True, append_images=pages[1:])
    assert np.asarray(open_image(tmp_path / "phone.jpg")).max() < 50


def test_only_the_formats_of_pictures_are_decoded(tmp_path):
    """PIL hands a file to any plugin that claims it, whatever its name: an EPS named .png went to
    Ghostscript where installed. Other formats are refused, naming the ones read."""
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.eps", format="EPS")
    (tmp_path / "x.eps").rename(tmp_path / "eps.png")
    with pytest.raises(UnreadableImageFile, match=r"eps\.png: not a readable image \(.*as any of "
                       r"PNG, JPEG"):
        open_image(tmp_path / "eps.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.pgm")
    assert open_image(tmp_path / "x.pgm").size == (8, 8)


def test_links_to_nothing_say_so(tmp_path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(UnreadableImageFile, match=r"gone\.png: a link to nothing"):
        open_image(tmp_path / "gone.png")
    with pytest.raises(UnreadableImageFile, match=r"a\.png: a link that leads round in a loop"):
        open_image(tmp_path / "a.png")
    with pytest.raises(UnreadableImageFile, match=r"none\.png: no such file"):
        open_image(tmp_path / "none.png")
