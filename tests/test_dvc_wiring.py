"""dvc.yaml names, as deps of the judging stages, exactly the models params.yaml says they use."""

import ast
import dataclasses
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import yaml
from conftest import REPO

from vaelab.core.params import Params, load_params
from vaelab.core.registry import MODEL_KINDS


def model_deps(stage: str) -> set[str]:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {d.removeprefix("models/").removesuffix(".safetensors")
            for d in stages[stage]["deps"] if d.startswith("models/") and d.endswith(".safetensors")}


def assert_model_deps(stage: str, wanted: set[str]) -> None:
    """The checkpoints ``stage`` lists in dvc.yaml are ``wanted``, each as its pair of files (the
    weights and the description a checkpoint is loaded by); the message names the lines to add
    or remove."""
    deps = set(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]["deps"])
    pairs = {f"models/{m}.{ext}" for m in wanted for ext in ("safetensors", "json")}
    listed = {d for d in deps if isinstance(d, str) and d.startswith("models/")
              and d.endswith((".safetensors", ".json")) and not d.startswith("models/defect_detector")}
    assert listed == pairs, (f"stage {stage} in dvc.yaml: add {sorted(pairs - listed)}, "
                             f"remove {sorted(listed - pairs)}")


def test_judging_stages_depend_on_the_models_params_name():
    params = load_params(REPO / "params.yaml")
    s = params.sampling
    assert_model_deps("guided_sampling", {"classifier", "judge", s.model, *s.unconditional_models})
    assert_model_deps("assess_quality", set(params.family()))
    assert_model_deps("anomaly_roc", {"classifier", *params.family(), params.anomaly.novelty_model,
                                      "novelty_classifier", "rotation_estimator"})
    assert_model_deps("defect_eval", {"detailvae"})
    assert_model_deps("digit_variations", {"classifier", "judge", s.model})


def test_dvc_plots_show_every_autoencoder_of_the_family():
    """A model added to params.yaml and the foreach table trained, was judged, and its curves and
    figures silently left out of `dvc plots show / diff` (the plots section names each file)."""
    params = load_params(REPO / "params.yaml")
    text = (REPO / "dvc.yaml").read_text()
    plots = yaml.safe_load(text)["plots"]
    named = {p if isinstance(p, str) else f for p in plots
             for f in ([p] if isinstance(p, str) else next(iter(p.values()))["y"])}
    for name in params.family():
        wanted = {f"plots/autoencoders/{name}/{png}" for png in ("reconstructions.png", "samples.png")}
        wanted.add(f"plots/autoencoders/{name}/live/plots/metrics/val/loss.tsv")
        if params.autoencoder(name).variational:
            wanted.add(f"plots/autoencoders/{name}/live/plots/metrics/val/neg_elbo.tsv")
        assert wanted <= named, f"dvc.yaml plots: add {sorted(wanted - named)}"


PARTS_WITH_SCHEMA = ("defects", "generation", "insight", "quality", "shift")


def stage_bodies() -> dict[str, dict]:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


# One interpreter loads the third-party libraries once, then forks a child per stage script that
# imports the script (main not run) and reports the vaelab files it loaded: a fresh interpreter
# per script paid those imports (~4 s) fifteen times over.
_IMPORTS_PER_SCRIPT = """
import importlib, importlib.util, json, os, sys
for library in ("numpy", "torch", "torchvision", "scipy", "sklearn", "skimage", "matplotlib",
                "safetensors", "dvclive", "yaml", "PIL"):
    importlib.import_module(library)
found = {}
for script in sys.argv[1:]:
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.close(read_end)
        spec = importlib.util.spec_from_file_location("stage", script)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        files = [m.__file__ for n, m in list(sys.modules.items())
                 if n.startswith("vaelab") and getattr(m, "__file__", None)]
        os.write(write_end, json.dumps(files).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reply:
        found[script] = json.loads(reply.read() or "null")
    _, status = os.wait()
    if status or found[script] is None:
        sys.exit(f"importing {script} failed (wait status {status})")
print(json.dumps(found))
"""


def imported_sources(scripts: list[str]) -> dict[str, set[str]]:
    """The library files each stage script imports (loaded in a fresh process, main not run)."""
    out = subprocess.run([sys.executable, "-c", _IMPORTS_PER_SCRIPT, *scripts], cwd=REPO,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 0, out.stderr[-4000:]
    return {script: {str(Path(f).resolve().relative_to(REPO)) for f in files}
            for script, files in json.loads(out.stdout).items()}


def model_sources(body: dict) -> set[str]:
    """The model modules a stage builds through the lazy registry: those of the checkpoints it
    reads or writes (the registry imports them only when a checkpoint is loaded)."""
    params = load_params(REPO / "params.yaml")
    kinds = {"classifier": "cnn_classifier", "judge": "lenet_judge", "detailvae": "detailvae",
             "novelty_classifier": "cnn_classifier", "digit_reader": "cnn_classifier",
             "rotation_estimator": "rotation_estimator",
             **{name: params.autoencoder(name).kind for name in params.autoencoders}}
    files = [d if isinstance(d, str) else next(iter(d)) for d in body["deps"] + body.get("outs", [])]
    names = {f.removeprefix("models/").removesuffix(".safetensors") for f in files
             if f.startswith("models/") and f.endswith(".safetensors")}
    if "models/${key}.safetensors" in files:          # the foreach stage: every autoencoder
        names = set(params.autoencoders)
    return {"src/" + MODEL_KINDS[kinds[n]].split(":")[0].replace(".", "/") + ".py" for n in names
            if n in kinds}  # models/defect_detector is not a network


def schema_parts_read(body: dict) -> set[str]:
    """The parts whose schema (``<part>/params.py``) types a params section the stage lists: it
    reads that section's typed object (its defaults, checks and derived values), imported or
    not."""
    hints = typing.get_type_hints(Params)
    parts = set()
    for key in body.get("params", []):
        section = key.split(".")[0]
        if section not in hints:   # (a templated key: the foreach stage's beta and latent size)
            continue
        kind = hints[section]
        kind = typing.get_args(kind)[-1] if typing.get_origin(kind) is dict else kind
        if kind.__module__.startswith("vaelab."):   # (seed, device, threads: plain values)
            parts.add(kind.__module__.split(".")[1])
    return parts


def test_every_library_module_a_stage_uses_is_one_of_its_deps():
    """So that editing a module re-runs exactly the stages that use it. Exempt: the package
    __init__ files (docstrings only, checked here) and the schema of parts a stage does not read
    (core/params.py imports every part's schema to validate the whole file)."""
    for init in (REPO / "src/vaelab").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert init.parent.name == "vaelab" or not body, f"{init}: keep package __init__ files empty"
    bodies = stage_bodies()
    scripts = {name: next(d for d in body["deps"] if isinstance(d, str) and d.startswith("stages/"))
               for name, body in bodies.items()}
    sources = imported_sources(sorted(set(scripts.values())))
    for name, body in bodies.items():
        deps = {d for d in body["deps"] if isinstance(d, str)}
        needed = sources[scripts[name]] | model_sources(body)
        needed = {f for f in needed if not f.endswith("__init__.py")}
        parts_used = {f.split("/")[2] for f in needed if not f.endswith("/params.py")}
        parts_used |= schema_parts_read(body)
        schema_unread = {f"src/vaelab/{part}/params.py" for part in PARTS_WITH_SCHEMA
                         if part not in parts_used and name != "report"}
        missing = needed - deps - schema_unread
        assert not missing, f"stage {name}: add to its deps in dvc.yaml: {sorted(missing)}"
        listed = {d for d in deps if d.startswith("src/")}
        extra = listed - needed - {f"src/vaelab/{p}/params.py" for p in PARTS_WITH_SCHEMA}
        assert not extra, f"stage {name}: deps it does not import: {sorted(extra)}"
        for part in PARTS_WITH_SCHEMA:
            schema = f"src/vaelab/{part}/params.py"
            assert (schema in deps) == (part in parts_used or name == "report"), (name, schema)


def test_the_report_depends_on_every_metrics_file_and_figure_it_shows():
    from vaelab.report.html import FIGURES
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    deps = set(stages["report"]["deps"])
    assert {path for _, path in FIGURES} <= deps
    committed = {str(p.relative_to(REPO)) for p in (REPO / "metrics").rglob("*.json")}
    # spread.json comes from a seed sweep outside `dvc repro` (vaelab.report.spread)
    assert committed - {"metrics/defects_training.json", "metrics/timings/detailvae.json",
                        "metrics/spread.json"} <= deps


def declared_outputs() -> list[tuple[str, str, bool]]:
    """(stage, path, cached) of every output, metric and plot file the stages of dvc.yaml
    declare (a foreach stage once per key)."""
    found = []
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)
        for key in stage.get("foreach", [None]):
            for section in ("outs", "metrics", "plots"):
                for entry in body.get(section, []):
                    path, options = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
                    if key is not None:
                        path = path.replace("${key}", key)
                    found.append((f"{name}@{key}" if key else name, path, (options or {}).get("cache", True)))
    return found


def test_every_output_git_ignores_is_in_dvc_cache_so_a_clone_can_pull_it():
    outputs = declared_outputs()
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=REPO, text=True,
                             input="\n".join(path for _, path, _ in outputs), capture_output=True
                             ).stdout.split()
    assert "models/classifier.safetensors" in ignored   # the check sees .gitignore at all
    lost = [(stage, path) for stage, path, cached in outputs if path in ignored and not cached]
    assert not lost, f"kept by neither git nor DVC's cache (cache: false under a git-ignored path): {lost}"


# What a stage that lists only part of a params section does not read of the rest, by that
# section: so that a key added to the section (`defects.grayscale`) fails the test below until it
# is listed in the stage's params in dvc.yaml or here — unlisted, DVC would not re-run the stage
# when the key changes.
NOT_READ = {
    ("assess_quality", "autoencoder_training"):
        "epochs batch_size lr kl_warmup_epochs iw_samples iw_test_images plot_images",
    ("anomaly_roc", "novelty_classifier"):
        "channels hidden dropout epochs batch_size lr weight_decay augment_shift eval_batch_size",
    ("anomaly_roc", "data"): "val_size max_train_images max_test_images",
    ("prepare_defects", "defects"): "features detailvae evaluation",
    ("train_detailvae", "defects"):
        "image_size resize max_images_per_category source split features evaluation",
    ("defect_eval", "defects"): "max_images_per_category source split detailvae",
    ("explain", "insight"): "read_numbers variations reader",
    ("explain", "data"): "val_size max_train_images max_test_images",
    ("explain", "data.shifts"): "rotated noisy label_shift",
    ("train_digit_reader", "insight"): "explain variations",
    ("train_digit_reader", "insight.read_numbers"):
        "test_per_length dev_per_length tune split_aspect_grid merge_overlap_grid "
        "contrast_quantile_grid junk_split_grid ink_low_grid figure_examples",
    ("read_numbers", "insight"): "explain variations reader",
    ("digit_variations", "insight"): "explain read_numbers reader",
    ("digit_variations", "sampling"):
        "candidates keep rounds temperature confidence unconditional_models "
        "unconditional_samples knn_k grid_rows unguided_samples grid_samples temperatures "
        "sweep_samples probe_train_images traversal_dims traversal_range traversal_steps",
}


def section_fields(path: list[str]) -> list[str] | None:
    """The keys of the params section at ``path`` (a typed object), None for a mapping of
    entries (``autoencoders``)."""
    cls = Params
    for part in path:
        kind = typing.get_type_hints(cls)[part]
        if typing.get_origin(kind) is dict:
            return None
        cls = kind
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else None


def test_every_key_of_a_partly_listed_section_is_listed_or_said_unread():
    """A review added `defects.grayscale` to the schema and read it in prepare_defects: every
    test passed, and DVC would never have re-run the stage for it. The wiring test above follows
    modules, not keys; this follows keys, for the sections a stage lists only part of."""
    seen = set()
    for name, body in stage_bodies().items():
        listed = {k for k in body.get("params", []) if "$" not in k}
        for key in listed:
            parts = key.split(".")
            for depth in range(1, len(parts)):
                section = ".".join(parts[:depth])
                if section in listed:
                    break
                fields = section_fields(parts[:depth])
                if fields is None:
                    break
                seen.add((name, section))
                unread = set(NOT_READ.get((name, section), "").split())
                assert unread <= set(fields), (name, section, sorted(unread - set(fields)))
                for field in fields:
                    full = f"{section}.{field}"
                    is_listed = any(k == full or k.startswith(full + ".") for k in listed)
                    assert is_listed != (field in unread), (
                        f"stage {name} lists part of `{section}`: `{full}` is "
                        + ("listed in dvc.yaml and also in NOT_READ: say it once" if is_listed else
                           "neither in its params in dvc.yaml nor in NOT_READ here — list it "
                           "where the stage reads it"))
    assert set(NOT_READ) <= seen, f"NOT_READ names sections no stage lists part of: {set(NOT_READ) - seen}"
