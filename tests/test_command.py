"""The `vaelab` command on real tiles and on every kind of bad file; `vaelab sample`."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_defect_detector import small_detector, texture

from vaelab.command.main import main
from vaelab.command.output import figure_paths, list_files
from vaelab.core.checkpoint import save_checkpoint
from vaelab.defects.training import detailvae_config


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A small fitted defect detector (PaDiM) and its DetailVAE, saved as the pipeline saves them."""
    folder = tmp_path_factory.mktemp("models")
    detector, p = small_detector(method="padim")
    train, val = torch.from_numpy(texture(6, 64, 1)), torch.from_numpy(texture(4, 64, 2))
    detector.fit(train, val, torch.ones(val.shape, dtype=torch.bool), p)
    detector.save(folder / "defect_detector")
    save_checkpoint(folder / "detailvae", detector.vae, "detailvae", detailvae_config(p.detailvae))
    return folder


def bad_files(folder):
    """One file of each kind a user's folder may hold that is not a readable tile."""
    (folder / "not_an_image.png").write_text("hello")
    (folder / "empty.jpg").write_bytes(b"")
    real = next(folder.glob("*.jpg"))
    (folder / "truncated.jpg").write_bytes(real.read_bytes()[:2000])
    Image.new("L", (1, 1)).save(folder / "one_pixel.png")
    Image.new("RGB", (200, 180)).convert("LAB").save(folder / "lab.tif")   # a mode not read
    Image.MAX_IMAGE_PIXELS, limit = None, Image.MAX_IMAGE_PIXELS
    try:
        Image.new("L", (20000, 10000)).save(folder / "bomb.png")   # 2e8 pixels: over PIL's limit
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return {"not_an_image.png", "empty.jpg", "truncated.jpg", "one_pixel.png", "bomb.png", "lab.tif"}


@pytest.fixture
def tiles(tmp_path, defects_dir):
    folder = tmp_path / "tiles"
    folder.mkdir()
    for category in ("Free", "Blowhole"):
        for path in sorted((defects_dir / f"MT_{category}" / "Imgs").glob("*.jpg"))[:3]:
            shutil.copy(path, folder / path.name)
    sixteen = (np.arange(120 * 200).reshape(120, 200) * 2).astype(np.uint16)
    Image.fromarray(sixteen).save(folder / "sixteen_bit.png")      # readable: scaled to 8 bits
    return folder


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tiles_reports_each_bad_file_in_its_row_and_classifies_the_rest(models, tiles, tmp_path, capsys):
    bad = bad_files(tiles)
    out = tmp_path / "labels.csv"
    status = main(["--models", str(models), "tiles", str(tiles), "--out", str(out),
                   "--maps", str(tmp_path / "maps"), "--quiet"])
    rows = read_rows(out)
    names = [r["file"].rsplit("/", 1)[-1] for r in rows]
    assert names == sorted(p.name for p in tiles.iterdir())          # every file, in order
    errors = {n for n, r in zip(names, rows) if r["label"] == "error"}
    assert errors == bad and all(rows[names.index(n)]["error"] for n in bad)
    good = [r for r in rows if r["label"] != "error"]
    assert len(good) == 7 and all(float(r["score"]) == float(r["score"]) for r in good)
    assert {r["method"] for r in rows} == {"padim"}
    assert all((tmp_path / "maps" / (n.rsplit(".", 1)[0] + "_map.png")).is_file()
               for n in names if n not in bad)
    assert "LAB pixels are not supported" in rows[names.index("lab.tif")]["error"]
    assert status == 1 and "6 unreadable" in capsys.readouterr().err


def test_tiles_fail_fast_json_and_missing_models(models, tiles, tmp_path, capsys):
    (tiles / "a_broken.jpg").write_bytes(b"broken")
    out = tmp_path / "labels.json"
    assert main(["--models", str(models), "tiles", str(tiles), "--format", "json", "--out",
                 str(out), "--fail-fast", "--quiet"]) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["label"] == "error"            # stopped at the first
    assert main(["--models", str(tmp_path / "none"), "tiles", str(tiles), "--quiet"]) == 2
    assert "dvc repro train_detailvae" in capsys.readouterr().err


def test_tiles_sharing_a_name_get_a_map_each(models, tiles, tmp_path):
    """A recursive batch of camera folders repeats names (IMG_0001.jpg in each): every tile's
    map is its own file, and its row names it."""
    jpgs = sorted(tiles.glob("*.jpg"))
    for folder, source in (("day1", jpgs[0]), ("day2", jpgs[3])):
        (tiles / folder).mkdir()
        shutil.copy(source, tiles / folder / "IMG_0001.jpg")
    shutil.copy(jpgs[1], tiles / "img_0001.png")   # the same stem on a case-blind disk
    out = tmp_path / "labels.csv"
    assert main(["--models", str(models), "tiles", str(tiles), "--recursive", "--out", str(out),
                 "--maps", str(tmp_path / "maps"), "--quiet"]) == 0
    rows = {r["file"]: r for r in read_rows(out)}
    maps = [rows[str(f)]["map"] for f in (tiles / "day1/IMG_0001.jpg", tiles / "day2/IMG_0001.jpg",
                                          tiles / "img_0001.png")]
    assert len({m.lower() for m in maps}) == 3 and all(Path(m).is_file() for m in maps)
    assert sum(Path(m).name == "IMG_0001_map.png" for m in maps) == 1
    assert len(list((tmp_path / "maps").iterdir())) == len(rows)   # none overwritten


def test_an_output_option_of_the_wrong_kind_is_refused_before_reading(models, tiles, tmp_path,
                                                                     capsys):
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("keep me")
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(tmp_path / "a_folder"),
                 "--quiet"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["--models", str(models), "tiles", str(tiles), "--maps", str(tmp_path / "a_file"),
                 "--out", str(tmp_path / "labels.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--maps" in err and "is a file" in err
    assert (tmp_path / "a_file").read_text() == "keep me" and not (tmp_path / "labels.csv").exists()


def test_a_file_spelled_two_ways_is_listed_once_but_a_link_to_it_stays_a_row(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"")
    (folder / "y.png").symlink_to("x.png")
    spellings = [folder / "x.png", tmp_path / "a" / ".." / "a" / "x.png", folder]
    assert list_files(spellings, {".png"}, False) == [folder / "x.png", folder / "y.png"]
    missing = tmp_path / "gone" / ".." / "gone.png"    # not there: still its own row, once
    assert list_files([missing, missing], {".png"}, False) == [missing]


def test_figure_paths_never_share_a_name(tmp_path):
    files = [Path("a/tile.png"), Path("b/tile.png"), Path("tile-2.png"), Path("c/Tile.jpg"),
             Path("x.png")]
    paths = figure_paths(files, tmp_path, "_map.png")
    names = [paths[f].name for f in files]
    assert names[2] == "tile-2_map.png" and names[4] == "x_map.png"   # unique stems keep theirs
    assert names[0] == "tile_map.png" and len({n.lower() for n in names}) == len(files)
    assert all(paths[f].parent == tmp_path for f in files)


def test_sample_draws_digits_unguided_and_guided(tmp_path, capsys):
    from conftest import REPO

    from vaelab.core.params import load_params
    from vaelab.core.registry import build_model
    from vaelab.mnist.autoencoder_training import autoencoder_config
    from vaelab.mnist.classify import build_classifier, classifier_config, kind_for
    params = load_params(REPO / "params.yaml")
    spec = params.autoencoder(params.sampling.model)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "cond_resvae", build_model(spec.kind, autoencoder_config(spec)),
                    spec.kind, autoencoder_config(spec))
    save_checkpoint(tmp_path / "classifier", build_classifier(params.classifier),
                    kind_for(params.classifier), classifier_config(params.classifier))
    for extra in ([], ["--guided"]):
        out = tmp_path / f"grid{len(extra)}.png"
        assert main(["--models", str(tmp_path), "sample", "--digit", "7", "-n", "4",
                     "--out", str(out), *extra]) == 0
        assert Image.open(out).size[0] > 100
    assert main(["--models", str(tmp_path), "sample", "--digit", "12", "--out", str(out)]) == 2
    refused = {("--model", "classifier"): "not a conditional VAE", ("-n", "5000"): "1..1024",
               ("--temperature", "nan"): "above 0", ("--temperature", "0"): "above 0",
               ("--seed", str(2 ** 70)): "--seed", ("--out", str(tmp_path / "grid.jpg")): ".png"}
    for (option, value), says in refused.items():
        args = {"--out": str(out), option: value}
        assert main(["--models", str(tmp_path), "sample", "--digit", "7",
                     *(x for kv in args.items() for x in kv)]) == 2, option
        assert says in capsys.readouterr().err, option


def tile_folder(root, count, defects_dir):
    """``count`` tiles made by linking the dataset's images under new names."""
    import itertools
    folder = root / f"tiles_{count}"
    folder.mkdir()
    sources = sorted((defects_dir / "MT_Free" / "Imgs").glob("*.jpg"))[:20]
    for i, source in zip(range(count), itertools.cycle(sources)):
        (folder / f"{i:05d}.jpg").symlink_to(source)
    return folder


RUN_MEASURED = ("import resource, sys\n"
                "from vaelab.command.main import main\n"
                "status = main(sys.argv[1:])\n"
                "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                "sys.exit(status)")


def test_peak_memory_does_not_grow_with_the_number_of_files(models, tmp_path, defects_dir):
    """Streaming in batches: 500 tiles may not need much more memory than 50. Bound: 150 MB —
    holding the 450 extra tiles as the old tool did would add 450 decoded images (the dataset's
    are up to ~1 MP, 8-bit grey: ~300 MB) plus their resized copies, while batch-to-batch noise
    of the allocator stays within tens of MB."""
    import subprocess
    import sys
    peaks = {}
    for count in (50, 500):
        folder = tile_folder(tmp_path, count, defects_dir)
        proc = subprocess.run([sys.executable, "-c", RUN_MEASURED, "--models", str(models), "tiles",
                               str(folder), "--out", str(tmp_path / f"{count}.csv"), "--quiet"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert len(read_rows(tmp_path / f"{count}.csv")) == count
        peaks[count] = int(proc.stderr.split("PEAK_KB")[1].split()[0]) / 1024
    assert peaks[500] - peaks[50] < 150, peaks


def test_a_killed_run_leaves_no_half_written_csv(models, tmp_path, defects_dir):
    """Killed mid-run (SIGKILL): the previous output is untouched. Stopped (SIGTERM, as
    ``timeout`` and ``kill`` do): untouched too, exit status 143, and no temporary file left."""
    import signal
    import subprocess
    import sys
    import time
    folder = tile_folder(tmp_path, 400, defects_dir)
    out = tmp_path / "labels.csv"
    out.write_text("file,score,label,threshold,method,error\nold,1,good,1,padim,\n")
    before = out.read_text()

    def temporary_files():
        return [p for p in tmp_path.iterdir() if p.name.startswith(".labels.csv")
                or (p.name.startswith("labels.csv") and p != out)]

    def stop_midway(how):
        left_before = len(temporary_files())
        proc = subprocess.Popen([sys.executable, "-m", "vaelab.command.main", "--models",
                                 str(models), "tiles", str(folder), "--out", str(out), "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        # wait until it is writing (its temporary file exists), then stop it mid-run
        while time.time() < deadline and len(temporary_files()) == left_before:
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        # at once: on a fast machine 400 tiles take about a second once writing has begun
        assert proc.poll() is None, "the run ended before it could be stopped: give it more tiles"
        proc.send_signal(how)
        proc.wait()
        assert out.read_text() == before      # the previous output is untouched, not truncated
        return proc, len(temporary_files()) - left_before

    stop_midway(signal.SIGKILL)
    proc, left = stop_midway(signal.SIGTERM)
    assert proc.returncode == 143 and left == 0
    assert b"stopped (SIGTERM)" in proc.stderr.read()


def test_outputs_never_land_on_inputs(models, tiles, tmp_path, capsys):
    """--out naming an input is refused before anything is read, and a map whose name is taken
    by an input tile (a_map.png read beside a.png) gets another: no input is ever overwritten."""
    jpg = sorted(tiles.glob("*.jpg"))[0]
    shutil.copy(jpg, tiles / f"{jpg.stem}_map.png")
    before = {p.name: p.read_bytes() for p in tiles.iterdir()}
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(jpg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "input" in err and jpg.read_bytes() == before[jpg.name]
    out = tmp_path / "labels.csv"
    named = sorted(str(p) for p in tiles.iterdir())     # named one by one: maps beside them allowed
    assert main(["--models", str(models), "tiles", *named, "--out", str(out),
                 "--maps", str(tiles), "--quiet"]) == 0
    assert {p.name: p.read_bytes() for p in tiles.iterdir() if p.name in before} == before
    rows = {Path(r["file"]).name: r for r in read_rows(out)}
    assert Path(rows[jpg.name]["map"]).name == f"{jpg.stem}-2_map.png"
    maps = [r["map"] for r in rows.values()]
    assert len(set(maps)) == len(maps) and all(Path(m).is_file() for m in maps)


def test_figures_never_go_into_a_folder_read(models, tiles, tmp_path, capsys):
    """Maps written into the folder of tiles were read as tiles by the next run (a review's three
    runs over 8 tiles: 8, 16 and 32 rows); so were --explain figures among the scans. Refused
    before reading, and inside a folder read recursively too."""
    before = sorted(p.name for p in tiles.iterdir())
    for args in (["tiles", str(tiles), "--maps", str(tiles)],
                 ["tiles", str(tmp_path), "--recursive", "--maps", str(tiles / "maps")],
                 ["read", str(tiles), "--explain", str(tiles / ".." / tiles.name)]):
        assert main(["--models", str(models), *args, "--out", str(tmp_path / "rows.csv"),
                     "--quiet"]) == 2, args
        err = capsys.readouterr().err
        assert args[-2] in err and "read for images" in err, err
    assert sorted(p.name for p in tiles.iterdir()) == before and not (tmp_path / "rows.csv").exists()
    # beside the folder read, or in a subfolder of one read without --recursive: written
    assert main(["--models", str(models), "tiles", str(tiles), "--maps", str(tiles / "maps"),
                 "--out", str(tmp_path / "rows.csv"), "--quiet"]) == 0
    assert len(list((tiles / "maps").iterdir())) == 7


def test_broken_entries_in_a_folder_are_rows_of_their_own(models, tiles, tmp_path):
    """A dangling link, a link loop and a pipe named *.png in a folder were dropped without a row
    (the summary counted one file fewer each); named directly they were rows already."""
    import os
    (tiles / "gone.png").symlink_to(tmp_path / "nothing.png")
    (tiles / "loop1.png").symlink_to(tiles / "loop2.png")
    (tiles / "loop2.png").symlink_to(tiles / "loop1.png")
    os.mkfifo(tiles / "pipe.png")
    out = tmp_path / "labels.csv"
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(out), "--quiet"]) == 1
    rows = {Path(r["file"]).name: r for r in read_rows(out)}
    assert "a link to nothing" in rows["gone.png"]["error"]
    assert all("leads round in a loop" in rows[n]["error"] for n in ("loop1.png", "loop2.png"))
    assert "not a regular file" in rows["pipe.png"]["error"]
    assert sum(r["label"] != "error" for r in rows.values()) == 7


def test_a_special_output_file_is_written_in_place(models, tiles, tmp_path):
    """--out a pipe (or /dev/null, /dev/stdout): the rows go into it, and it stays what it was
    (renaming a finished file over it would replace the device with a regular file)."""
    import os
    import stat
    import threading
    fifo = tmp_path / "rows.pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(fifo), "--quiet"]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].startswith("file,score,label") and received[0].count("\n") == 8


def test_missing_pipes_and_odd_outputs_are_rows_or_refusals(models, tiles, tmp_path, capsys):
    """A missing file or a pipe named on the command line (a shell glob's leftovers) is its own
    row — a pipe is never opened, which would wait forever — and the rest is read; an output
    under a file is refused before reading."""
    import os
    os.mkfifo(tmp_path / "pipe.png")
    out = tmp_path / "labels.csv"
    assert main(["--models", str(models), "tiles", str(tmp_path / "gone.png"), str(tmp_path / "pipe.png"),
                 str(tiles), "--out", str(out), "--quiet"]) == 1
    rows = {Path(r["file"]).name: r for r in read_rows(out)}
    assert rows["gone.png"]["label"] == "error" and "no such file" in rows["gone.png"]["error"]
    assert rows["pipe.png"]["label"] == "error" and "not a regular file" in rows["pipe.png"]["error"]
    assert sum(r["label"] != "error" for r in rows.values()) == 7
    capsys.readouterr()
    (tmp_path / "notes.txt").write_text("keep")
    for option in ("--out", "--maps"):
        args = [option, str(tmp_path / "notes.txt" / "inside")]
        assert main(["--models", str(models), "tiles", str(tiles), *args, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert option in err and "is a file, not a folder" in err


def test_fail_fast_counts_the_files_it_read_and_ctrl_c_is_one_line(models, tiles, tmp_path,
                                                                  capsys, monkeypatch):
    (tiles / "a_broken.jpg").write_bytes(b"broken")
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(tmp_path / "l.csv"),
                 "--fail-fast", "--quiet"]) == 1
    assert "vaelab tiles: 1 files, 0 defective, 1 unreadable" in capsys.readouterr().err
    from vaelab.command import tiles as tiles_command

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(tiles_command, "run", interrupted)
    assert main(["--models", str(models), "tiles", str(tiles), "--quiet"]) == 130
    assert capsys.readouterr().err == "vaelab tiles: interrupted\n"


def broken_png(path: Path) -> None:
    """A PNG whose second IDAT chunk's type has one byte flipped (a bad disk or transfer): PIL
    raises SyntaxError('broken PNG file') while decoding, which stopped the whole batch."""
    import io
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (400, 400), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    second = data.find(b"IDAT", data.find(b"IDAT") + 4)
    assert second > 0
    data[second] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_png_and_a_name_not_in_utf8_are_rows_of_their_own(models, tiles, tmp_path):
    import os
    broken_png(tiles / "a_broken.png")
    odd = os.fsencode(tiles) + b"/caf\xe9.jpg"          # latin-1 bytes, as an old disk holds
    shutil.copy(sorted(tiles.glob("*.jpg"))[0], os.fsdecode(odd))
    out = tmp_path / "labels.csv"
    assert main(["--models", str(models), "tiles", str(tiles), "--out", str(out), "--quiet"]) == 1
    with open(out, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    assert rows["a_broken.png"]["label"] == "error"
    assert "a_broken.png" in rows["a_broken.png"]["error"] and "broken PNG" in rows["a_broken.png"]["error"]
    assert rows[os.fsdecode(b"caf\xe9.jpg")]["label"] in ("good", "defective")   # its bytes kept
    assert sum(r["label"] != "error" for r in rows.values()) == 8
    # JSON is UTF-8 text: the byte is written as \xe9 (a lone surrogate, which strict parsers
    # refuse, before)
    lines = tmp_path / "labels.json"
    main(["--models", str(models), "tiles", os.fsdecode(odd), "--out", str(lines), "--format",
          "json", "--quiet"])
    text = lines.read_bytes().decode("utf-8")                  # strict: no surrogates
    assert json.loads(text)["file"].endswith("caf\\xe9.jpg")


def test_outputs_never_land_on_each_other_or_on_a_map(models, tiles, tmp_path, capsys):
    """--out where a map goes, or a link round in a loop, is refused before reading; the shell's
    stdout redirected to a file and named as /dev/stdout is written in place, not replaced."""
    import os
    import subprocess
    import sys
    jpg = sorted(tiles.glob("*.jpg"))[0]
    maps = tmp_path / "maps"
    args = ["--models", str(models), "tiles", str(jpg), "--quiet"]
    assert main([*args, "--maps", str(maps), "--out", str(maps / f"{jpg.stem}_map.png")]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "map of" in err and not maps.exists()
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    for option in ("--out", "--maps"):
        assert main([*args, option, str(tmp_path / "loop1")]) == 2
        err = capsys.readouterr().err
        assert option in err and "loop" in err and "Traceback" not in err
    captured = tmp_path / "captured.txt"
    script = ("import sys; from vaelab.command.main import main; print('before', flush=True); "
              f"code = main({[*args, '--out', '/dev/stdout']!r}); print('after'); sys.exit(code)")
    with open(captured, "w") as f:
        assert subprocess.run([sys.executable, "-c", script], stdout=f).returncode == 0
    lines = captured.read_text().splitlines()
    assert lines[0] == "before" and lines[1].startswith("file,score") and lines[-1] == "after"


def test_sample_refuses_a_temperature_beyond_its_bound(tmp_path, capsys):
    assert main(["--models", str(tmp_path), "sample", "--digit", "3", "--temperature", "1e300",
                 "--out", str(tmp_path / "hot.png")]) == 2
    assert "--temperature" in capsys.readouterr().err and not (tmp_path / "hot.png").exists()


def test_sample_names_the_stage_that_trains_a_missing_model(tmp_path, capsys):
    """Every other command named its `dvc repro` target; sample said only `dvc repro` (review)."""
    assert main(["--models", str(tmp_path), "sample", "--digit", "3",
                 "--out", str(tmp_path / "a.png")]) == 2
    assert "`dvc repro train_autoencoder@cond_resvae`" in capsys.readouterr().err


def test_anomaly_maps_are_coloured_from_the_pixel_threshold():
    """The map PNG `tiles --maps` saves and the studio shows (one function): 0 and padding dark,
    twice the pixel threshold and above the colour map's brightest."""
    from matplotlib import colormaps

    from vaelab.defects.inference import map_colours

    values = np.array([[0.0, 0.5, 1.0, 5.0, np.nan]], np.float32)
    rgb = map_colours(values, pixel_threshold=0.5)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.uint8
    brightest = (np.array(colormaps["magma"](1.0)[:3]) * 255).astype(np.uint8)
    assert (rgb[0, 2] == brightest).all() and (rgb[0, 3] == brightest).all()
    assert (rgb[0, 0] == rgb[0, 4]).all() and rgb[0, 0].sum() < 20
    assert rgb[0, 0].sum() < rgb[0, 1].sum() < rgb[0, 2].sum()
