"""vaelab: apply the trained models (after `dvc repro`) to your own files."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from vaelab.command.output import check_destinations
from vaelab.core.cli import USER_ERRORS

FEW_TILES = 300   # fit-tiles: fewer fitting tiles catch measurably fewer defects (README)

EXAMPLES = """examples:
  vaelab tiles photos/ --recursive --out labels.csv     good / defective per tile
  vaelab tiles photos/ --maps maps/ --format json        ... with an anomaly-map PNG per tile
  vaelab read number.png --explain cams/                 the number in an image, with Grad-CAM
  vaelab screen digits.npy --out scores.csv              shift score per digit + batch verdict
  vaelab sample --digit 7 -n 16 --guided --out 7.png     digits from the conditional VAE
  vaelab fit-tiles good_tiles/ --out my_camera           the tile detector fitted on your tiles

Models come from models/ (`dvc repro` writes them) in the current folder, else from the clone
vaelab is installed from, so it runs from any folder; --models DIR points elsewhere."""


def batch_options(command: argparse.ArgumentParser, inputs: str) -> None:
    """What every file-batch subcommand takes: inputs, output, format, progress, failure mode."""
    command.add_argument("inputs", nargs="+", type=Path, metavar=inputs)
    command.add_argument("--recursive", action="store_true", help="also the folders' subfolders")
    command.add_argument("--out", type=Path, help="file to write (default: standard output)")
    command.add_argument("--format", choices=("csv", "json"), default="csv",
                         help="csv (default) or json (one object per line)")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.add_argument("--fail-fast", action="store_true", help="stop at the first unreadable file")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="vaelab", description=__doc__.splitlines()[0],
                                  epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--models", type=Path, help="trained models (default: models/ in the current "
                     "folder, else the models/ of the clone vaelab is installed from)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tiles = sub.add_parser("tiles", help="good / defective per tile image",
                           description="Classify tile images as good or defective with the defect "
                           "detector `dvc repro defect_eval` fitted (its method and thresholds).",
                           epilog="example: vaelab tiles photos/ --recursive --out labels.csv\n"
                           "columns: file, score, label (good|defective|error), threshold, method, "
                           "error (map with --maps); exit status 1 when a file could not be read\n"
                           "photograph tiles as the training tiles were — the same way up (or "
                           "fit with defects.evaluation.orientations),\nthe same exposure and "
                           "sharpness, light compression at most: defect-free tiles mirrored, "
                           "blurred, noisy or\nheavily compressed are flagged (README: Tiles "
                           "photographed otherwise)",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    batch_options(tiles, "DIR_OR_FILE")
    tiles.add_argument("--maps", type=Path, metavar="DIR", help="write <name>_map.png per tile here")

    read = sub.add_parser("read", help="the number in each image",
                          description="Read handwritten numbers: segment, crop as MNIST, classify "
                          "each digit with the digit reader (`dvc repro train_digit_reader`; knobs "
                          "chosen by `dvc repro read_numbers`).",
                          epilog="example: vaelab read scans/ --out numbers.csv --explain cams/\n"
                          "columns: file, number, digits, confidences, min_confidence, notes, error "
                          "(explain with --explain); exit status 1 when a file could not be read\n"
                          "number holds the digits alone: a minus sign, comma, point or dash between "
                          "them, a line drawn under them and a ring or box drawn round them are "
                          "left out and said in notes; lines of digits, and groups set apart on "
                          "a line (a phone number's), are joined by a space",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    batch_options(read, "IMAGE_OR_DIR")
    read.add_argument("--explain", type=Path, metavar="DIR",
                      help="write <name>_explain.png (crops and Grad-CAM) per image here")
    read.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                      help="read in N processes (0: one per CPU; default 1): the same rows. "
                      "Each takes ~3 s to start, then reads as fast as the first: worth it for "
                      "photos, or for more than about a thousand small scans")

    screen = sub.add_parser("screen", help="shift score per digit and a verdict for the batch",
                            description="Screen MNIST-like digits (28×28, white ink on black; "
                            "pictures or .npy arrays) for shift with the detector `dvc repro "
                            "anomaly_roc` fitted on validation images, and test the batch's mix "
                            "of predicted digits for label shift.",
                            epilog="example: vaelab screen digits.npy more_digits/ --out scores.csv\n"
                            "columns: file, score, label (clean|shifted|error), threshold, "
                            "predicted_digit, confidence, notes, error; the verdict goes to "
                            "stderr (and --verdict FILE as JSON); exit status 1 when a file could "
                            "not be read",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    batch_options(screen, "DIR_OR_FILE")
    screen.add_argument("--verdict", type=Path, metavar="FILE", help="write the batch verdict as JSON")

    fit = sub.add_parser("fit-tiles", help="the defect detector fitted on your defect-free tiles",
                         description="Fit the defect detector again on defect-free tiles from "
                         "your camera: its method, features and DetailVAE stay as `dvc repro` "
                         "chose them; its statistics are fitted on a share of your tiles, its "
                         "thresholds set on the rest (5 % of them flagged, as the pipeline sets "
                         "them on the dataset's validation tiles, given 20 or more). Then: vaelab --models DIR tiles …",
                         epilog="example: vaelab fit-tiles good_tiles/ --out my_camera\n"
                         "          vaelab --models my_camera tiles new_tiles/ --out labels.csv\n"
                         "writes DIR/defect_detector.*, DIR/detailvae.* (a copy) and "
                         "DIR/fit_tiles.json (the tiles used, the skipped ones and why, the "
                         "thresholds);\nexit status 1 when a file was skipped (unreadable, one grey "
                         "level, a dataset mask beside its .jpg, a second name of one file). Give it hundreds of tiles, from every session and light your "
                         "camera sees: fewer catch fewer defects (README: vaelab fit-tiles)",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("inputs", nargs="+", type=Path, metavar="DIR_OR_FILE",
                     help="defect-free tile images, photographed as the tiles to check will be")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="the models folder to write (not the one the detector comes from)")
    fit.add_argument("--recursive", action="store_true", help="also the folders' subfolders")
    fit.add_argument("--val-share", type=float, default=0.15, metavar="SHARE",
                     help="share of the tiles that set the thresholds (default 0.15; at least 20 tiles, "
                     "at most --max-train)")
    fit.add_argument("--max-train", type=int, default=1000, metavar="N",
                     help="at most this many tiles fit the detector (more are left unread); they and the "
                     "threshold tiles are held in memory: 1000 + 286 took 5.2 GB (default 1000)")
    fit.add_argument("--seed", type=int, default=0, help="which tiles set the thresholds (default 0)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = sub.add_parser("sample", help="digits from the conditional VAE",
                            description="Draw digits from the conditional VAE's prior, optionally "
                            "keeping those the CNN evaluator is most confident about.",
                            epilog="example: vaelab sample --digit 7 -n 16 --guided --out 7.png")
    sample.add_argument("--digit", type=int, required=True, help="0..9")
    sample.add_argument("-n", type=int, default=16, dest="count",
                        help="how many (default 16, at most 1024: one grid figure)")
    sample.add_argument("--guided", action="store_true", help="keep the evaluator's most confident of 8n")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the prior's spread (> 0; default 1)")
    sample.add_argument("--seed", type=int, default=0, help="0 .. 2^63 - 1 (default 0)")
    sample.add_argument("--model", default="cond_resvae", help="a conditional model in --models")
    sample.add_argument("--out", type=Path, required=True, help="PNG to write (name ending .png)")
    return top


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``), raised where the run is so that it unwinds like Ctrl-C:
    the temporary output file is removed and the worker processes are stopped."""


def _terminated(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    on_term = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _run(args)
    except Terminated:
        print(f"vaelab {args.command}: stopped (SIGTERM)", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, on_term)


def _run(args: argparse.Namespace) -> int:
    from vaelab.core.clone import here_or_clone
    args.models = here_or_clone(args.models or "models")
    from vaelab.core.runtime import keep_freed_memory
    keep_freed_memory()   # a batch: its big per-file arrays reuse memory instead of faulting anew
    try:
        folder_out = args.command == "fit-tiles"   # its --out is a models folder
        check_destinations({f"--{k}": getattr(args, k, None) for k in ("out", "verdict")
                            if not (folder_out and k == "out")},
                           {f"--{k}": getattr(args, k, None) for k in ("maps", "explain")
                            + (("out",) if folder_out else ())})
        if args.command == "tiles":
            from vaelab.command import tiles
            total, defective, failed = tiles.run(args.inputs, args.models, args.out, args.format,
                                                 args.recursive, args.maps, args.quiet, args.fail_fast)
            print(f"vaelab tiles: {total} files, {defective} defective, {failed} unreadable"
                  + (f" → {args.out}" if args.out else ""), file=sys.stderr)
            return 1 if failed else 0
        if args.command == "read":
            from vaelab.command import read
            total, failed = read.run(args.inputs, args.models, args.out, args.format,
                                     args.recursive, args.explain, args.quiet, args.fail_fast,
                                     args.jobs)
            print(f"vaelab read: {total} files, {failed} unreadable"
                  + (f" → {args.out}" if args.out else ""), file=sys.stderr)
            return 1 if failed else 0
        if args.command == "screen":
            from vaelab.command import screen
            total, failed, verdict = screen.run(args.inputs, args.models, args.out, args.format,
                                                args.recursive, args.quiet, args.fail_fast,
                                                args.verdict)
            print(f"vaelab screen: {total} digits, {verdict['flagged']} flagged as shifted "
                  f"({verdict['flagged_share']:.1%}, {verdict['expected_share']:.0%} expected of "
                  f"clean digits, p = {verdict['flagged_p_value']:.3g}); label shift "
                  f"p = {verdict['label_shift_p_value']:.3g}"
                  f"{' → LABEL SHIFT' if verdict['label_shift'] else ''}"
                  f"{' → SHIFTED BATCH' if verdict['shifted_images'] else ''}; "
                  f"{failed} unreadable" + (f" → {args.out}" if args.out else ""), file=sys.stderr)
            return 1 if failed else 0
        if args.command == "fit-tiles":
            from vaelab.command import fit_tiles
            fitted = fit_tiles.run(args.inputs, args.models, args.out, args.recursive, args.quiet,
                                   args.val_share, args.max_train, args.seed)
            method = fitted.detector.method
            print(f"vaelab fit-tiles: {len(fitted.train_files)} tiles fitted the detector "
                  f"({method}), {len(fitted.val_files)} set its thresholds (image score "
                  f"{fitted.detector.image_thresholds[method]:.4g}); {len(fitted.skipped)} "
                  f"skipped (fit_tiles.json says why); the detector in {args.models} flagged "
                  f"{fitted.shipped_flagged:.0%} of those {len(fitted.val_files)} defect-free "
                  f"tiles → {args.out} (use: vaelab --models {args.out} tiles …, or the studio's "
                  f"tile tab: python -m vaelab.studio.app --tiles {args.out})", file=sys.stderr)
            if len(fitted.train_files) < FEW_TILES:
                print(f"vaelab fit-tiles: note: fewer than {FEW_TILES} tiles fitted it; on the "
                      "dataset 60 tiles caught a quarter of the defective tiles, 150 about half, "
                      "300 nearly as many as the pipeline's 619 (README: vaelab fit-tiles)",
                      file=sys.stderr)
            return 1 if fitted.skipped else 0
        from vaelab.command import sample
        images = sample.run(args.digit, args.count, args.guided, args.temperature, args.seed,
                            args.models, args.model, args.out)
        print(f"vaelab sample: {len(images)} digits {args.digit} → {args.out}", file=sys.stderr)
        return 0
    except (*USER_ERRORS, ValueError, OSError) as err:   # OSError: an output it cannot write
        print(f"vaelab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # the output file, if any, is left as it was (written atomically)
        print(f"vaelab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
