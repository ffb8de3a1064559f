"""The pull-request workflow parses, runs the pipeline on the small profile and posts the diffs."""

import yaml
from conftest import REPO


def load_workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/pr-metrics.yml").read_text())


def test_workflow_runs_on_pull_requests_and_posts_metrics_and_params_diffs():
    workflow = load_workflow()
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    steps = workflow["jobs"]["metrics"]["steps"]
    script = "\n".join(step.get("run", "") for step in steps)
    assert "make setup" in script and "profiles/apply.py profiles/pr.yaml" in script
    assert "dvc repro" in script
    assert "dvc metrics diff main" in script and "dvc params diff main" in script
    assert any("github-script" in step.get("uses", "") for step in steps)
    assert workflow["permissions"]["pull-requests"] == "write"


def test_the_small_profile_merges_into_valid_params(tmp_path):
    import subprocess
    import sys
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    subprocess.run([sys.executable, str(REPO / "profiles/apply.py"), str(REPO / "profiles/pr.yaml"),
                    "--params", str(params)], check=True, capture_output=True)
    merged = yaml.safe_load(params.read_text())
    assert merged["data"]["max_train_images"] == 6000
    assert merged["data"]["shifts"]["rotated"]["max_degrees"] == 30.0   # untouched keys stay
    assert merged["autoencoders"]["conv_vae"] == {"kind": "conv_vae", "epochs": 2, "batch_size": 64}


def test_a_profile_with_a_bad_value_is_refused_and_params_are_left_alone(tmp_path):
    import subprocess
    import sys
    params = tmp_path / "params.yaml"
    original = (REPO / "params.yaml").read_text()
    params.write_text(original)
    profile = tmp_path / "bad.yaml"
    profile.write_text("classifier: {epochs: 0}\n")
    proc = subprocess.run([sys.executable, str(REPO / "profiles/apply.py"), str(profile),
                           "--params", str(params)], capture_output=True, text=True)
    assert proc.returncode != 0 and "classifier.epochs = 0: must be >= 1" in proc.stderr
    assert params.read_text() == original
