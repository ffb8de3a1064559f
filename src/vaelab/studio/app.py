"""``make studio``: the studio page on http://127.0.0.1:7860 — sketch and read a number, inspect
reconstructions, check a tile. Local only: analytics off, no share link, no request leaves the
machine (fonts are the system's)."""

from __future__ import annotations

import argparse
import atexit
import itertools
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from vaelab.core.clone import clone_first, here_or_clone
from vaelab.core.params import load_params
from vaelab.core.schema import ParamsError
from vaelab.studio import handlers as h

# an upload larger is refused by Gradio before it is stored (a 300 MB file was kept in /tmp);
# a tile of the 40 million pixels the page reads, as a 16-bit TIFF, is 80 MB
MAX_FILE_SIZE = "100mb"
LOCAL_THEME = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                   font_mono=["ui-monospace", "monospace"])
# Gradio lays a gallery out in min(columns, pictures) columns: two digits filled the width with
# two squares far taller than the gallery, each showing a slice of its crop. Thumbnails of one
# size instead, as many to a row as fit (the variations: one digit's six to a row), below the
# gallery's label (which covered their top rows).
GALLERY_CSS = """
#crops .grid-container, #cams .grid-container {grid-template-columns: repeat(auto-fill, 96px) !important;}
#variations .grid-container {grid-template-columns: repeat(6, 96px) !important;}
#crops .grid-wrap, #cams .grid-wrap, #variations .grid-wrap {padding-top: 30px;}
"""


def _shown(err: Exception) -> str:
    """What the page says when a handler fails: the message, never a traceback."""
    if isinstance(err, h.StudioMessage):
        return f"⚠️ {err}"
    return f"⚠️ Something went wrong ({type(err).__name__}: {err}). The page still works; try again."


def build_app(studio: h.Studio) -> gr.Blocks:
    upload_dir = Path(tempfile.mkdtemp(prefix="vaelab-studio-"))
    atexit.register(shutil.rmtree, upload_dir, True)   # (each start left a folder in /tmp)

    def on_read(value):
        try:
            r = h.read_sketch(studio, value)
            return r.summary, r.crops, r.cams, r.variations
        except Exception as err:   # the server keeps serving whatever the canvas held
            return _shown(err), [], [], []

    def on_show(model, set_name, index):
        try:
            return h.inspect_reconstruction(studio, model, set_name, index)
        except Exception as err:
            return None, _shown(err)

    def on_pick(model, set_name, how):
        try:
            index = h.pick_index(studio, model, set_name, how, seed=next(random_picks))
            panel, text = h.inspect_reconstruction(studio, model, set_name, index)
            return index, panel, text
        except Exception as err:
            return 0, None, _shown(err)

    def on_set(set_name, index):
        try:   # the slider ends at the set's last image (label_shift holds 5 139)
            last = h.set_size(studio, set_name) - 1
            return gr.Slider(maximum=last, value=min(index or 0, last))
        except Exception:   # (an unknown set: Show says so)
            return gr.Slider()

    def on_batch(model, set_name):
        try:
            return h.batch_view(studio, model, set_name)
        except Exception as err:
            return None, _shown(err)

    def on_tile(upload, picked):
        try:
            path = upload if upload else (h.test_tile_file(studio, picked, upload_dir)
                                          if picked is not None else None)
            return h.check_tile_file(studio, path)
        except Exception as err:
            return None, None, _shown(err)

    random_picks = itertools.count(1)   # each Random click a new seeded pick

    # uploads Gradio keeps in its cache are deleted after an hour (they were kept for good)
    with gr.Blocks(title="vaelab studio", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as app:
        gr.Markdown("# vaelab studio\nThe trained models of this repository, on your input.")
        missing = studio.missing()
        if missing:
            gr.Markdown("**Some models are not trained yet** — the tabs that need them say so:\n\n"
                        + "\n".join(f"- {m}" for m in missing), elem_id="missing-models")

        with gr.Tab("Sketch a number"):
            pad = gr.Sketchpad(type="numpy", image_mode="RGBA", canvas_size=(720, 240),
                               brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                               label="Pick the brush (left), then write a number, digits left to right",
                               elem_id="sketch")
            read = gr.Button("Read the number", variant="primary", elem_id="read-button")
            summary = gr.Markdown(elem_id="sketch-summary")
            crops = gr.Gallery(label="Digits as the evaluator saw them (28 × 28)", columns=10,
                               height=150, object_fit="contain", elem_id="crops")
            cams = gr.Gallery(label="Grad-CAM of each digit", columns=10, height=150,
                              object_fit="contain", elem_id="cams")
            variations = gr.Gallery(label=f"VAE variations of each digit ({studio.variation_model}), "
                                          "one row per digit",
                                    columns=6, height=300, object_fit="contain", elem_id="variations")
            read.click(on_read, pad, [summary, crops, cams, variations])

        with gr.Tab("Inspect reconstructions"):
            with gr.Row():
                shown = "conv_vae" if "conv_vae" in studio.family else studio.family[0]
                model = gr.Dropdown(list(studio.family), value=shown, label="Autoencoder",
                                    elem_id="model")
                set_name = gr.Dropdown(list(h.RECONSTRUCTION_SETS), value="test", label="Test set",
                                       elem_id="set")
                index = gr.Slider(0, 9999, value=0, step=1, label="Image index", elem_id="index")
            with gr.Row():
                show = gr.Button("Show", elem_id="show-button")
                random_pick = gr.Button("Random", elem_id="random-button")
                worst = gr.Button("Worst by MSE", elem_id="worst-button")
                batch = gr.Button("Batch view", elem_id="batch-button")
            panel = gr.Image(label="original | reconstruction | difference", elem_id="panel")
            panel_text = gr.Markdown(elem_id="panel-text")
            batch_image = gr.Image(label="Metric distributions over the set", elem_id="batch-image")
            batch_text = gr.Markdown(elem_id="batch-text")
            show.click(on_show, [model, set_name, index], [panel, panel_text])
            random_pick.click(lambda m, s: on_pick(m, s, "random"), [model, set_name],
                              [index, panel, panel_text], api_name="random")
            worst.click(lambda m, s: on_pick(m, s, "worst"), [model, set_name],
                        [index, panel, panel_text], api_name="worst")
            set_name.change(on_set, [set_name, index], index)
            batch.click(on_batch, [model, set_name], [batch_image, batch_text])

        with gr.Tab("Check a tile"):
            gr.Markdown("The detector knows tiles photographed as its training tiles were: the "
                        "same way up, exposure and sharpness. Mirrored, blurred, noisy or heavily "
                        "compressed pictures of defect-free tiles are flagged (README: *Tiles "
                        "photographed otherwise*).", elem_id="tile-conditions")
            with gr.Row():
                upload = gr.File(label="Upload a magnetic-tile image", file_types=["image"],
                                 type="filepath", elem_id="tile-upload")
                choices = h.test_tile_choices(studio)
                picked = gr.Dropdown(choices, value=None, label="... or pick a test tile",
                                     elem_id="tile-pick")
            check = gr.Button("Check", variant="primary", elem_id="check-button")
            verdict = gr.Markdown(elem_id="tile-verdict")
            with gr.Row():
                heat = gr.Image(label="Anomaly map", elem_id="tile-map")
                # red: pixels over the pixel threshold, shown whatever the verdict (a good tile
                # may have a few; the verdict is the image score's)
                outlined = gr.Image(label="Pixels above the pixel threshold (red)",
                                    elem_id="tile-mask")
            check.click(on_tile, [upload, picked], [heat, outlined, verdict])
            # the latest choice wins: picking a test tile drops the upload and the other way round
            picked.input(lambda _: None, picked, upload)
            upload.upload(lambda _: None, upload, picked)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.replace("``", "").split()),
                                     epilog="A relative --models, --data or --params is taken "
                                     "from the current folder when it is there, else from the "
                                     "clone vaelab is installed from.")
    parser.add_argument("--models", type=Path, default=Path("models"),
                        help="the trained models (dvc repro or make pull puts them here)")
    parser.add_argument("--data", type=Path, default=Path("data/prepared"),
                        help="prepared MNIST sets and magnetic tiles (the reconstruction and "
                             "test-tile choices)")
    parser.add_argument("--params", type=Path,
                        help="which autoencoders to offer and the variations model come from "
                        "here (default: the clone's params.yaml, not one in the current folder)")
    parser.add_argument("--tiles", type=Path, metavar="DIR",
                        help="check tiles with the detector in DIR, as `vaelab fit-tiles --out DIR` "
                        "wrote it (default: the one in --models)")
    parser.add_argument("--port", type=int, default=7860, help="on 127.0.0.1 (default 7860)")
    args = parser.parse_args(argv)
    args.models, args.data = map(here_or_clone, (args.models, args.data))
    # another project's params.yaml in the current folder is not this one's
    args.params = here_or_clone(args.params) if args.params else clone_first("params.yaml")
    try:
        params = load_params(args.params)
    except ParamsError as err:
        sys.exit(f"vaelab studio: error: {err}")
    if args.tiles is not None and not args.tiles.is_dir():
        sys.exit(f"vaelab studio: error: --tiles {args.tiles}: no such folder (give the --out "
                 "folder of `vaelab fit-tiles`)")
    studio = h.Studio.from_params(params, args.models, args.data, args.tiles)
    h.warm_up(studio)
    app = build_app(studio).queue(default_concurrency_limit=1)
    # quiet: Gradio's own start-up lines end in "to create a public link, set share=True" —
    # advice this page never takes; its address is said here instead, once it is serving
    app.launch(server_name="127.0.0.1", server_port=args.port, share=False, quiet=True,
               prevent_thread_lock=True, theme=gr.themes.Default(**LOCAL_THEME),
               css=GALLERY_CSS, show_error=False, max_file_size=MAX_FILE_SIZE)
    print(f"vaelab studio: serving on {app.local_url} (this machine only; Ctrl-C stops it), "
          f"models from {args.models.resolve()}"
          + (f", tile detector from {args.tiles.resolve()}" if args.tiles else ""), flush=True)
    # SIGTERM (a service manager's stop) exits as Ctrl-C does, so the upload folder is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.block_thread()


if __name__ == "__main__":
    main()
