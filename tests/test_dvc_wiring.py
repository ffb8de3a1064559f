"""dvc.yaml names, as deps of the judging stages, exactly the models params.yaml says they use."""

import yaml

from conftest import REPO
from vaelab.params import load_params


def model_deps(stage: str) -> set[str]:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return {d.removeprefix("models/").removesuffix(".safetensors")
            for d in stages[stage]["deps"] if d.startswith("models/") and d.endswith(".safetensors")}


def test_judging_stages_depend_on_the_models_params_name():
    params = load_params(REPO / "params.yaml")
    s = params.sampling
    assert model_deps("guided_sampling") == {"classifier", "judge", s.model, *s.unconditional_models}
    assert model_deps("assess_quality") == set(params.family())
    assert model_deps("anomaly_roc") == {"classifier", *params.family(), params.anomaly.novelty_model}
    assert model_deps("defect_eval") == {"detailvae"}


def test_schema_modules_are_deps_only_of_the_stages_that_read_them():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        body = stage.get("do", stage)
        deps = set(body["deps"])
        assert "src/vaelab/params.py" in deps and "src/vaelab/schema.py" in deps, name
        reads_eval = name in ("guided_sampling", "assess_quality", "anomaly_roc", "report")
        reads_defects = name in ("prepare_defects", "train_detailvae", "defect_eval", "report")
        assert ("src/vaelab/params_eval.py" in deps) == reads_eval, name
        assert ("src/vaelab/params_defects.py" in deps) == reads_defects, name


def test_the_report_depends_on_every_metrics_file_and_figure_it_shows():
    from vaelab.report import FIGURES
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    deps = set(stages["report"]["deps"])
    assert {path for _, path in FIGURES} <= deps
    committed = {str(p.relative_to(REPO)) for p in (REPO / "metrics").rglob("*.json")}
    assert committed - {"metrics/defects_training.json", "metrics/timings/detailvae.json"} <= deps
