"""The pull-request workflow parses, runs the pipeline on the small profile and posts the diffs."""

import yaml
from conftest import REPO


def load_workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/pr-metrics.yml").read_text())


def test_workflow_compares_full_params_runs_from_the_remote_and_smokes_the_small_profile():
    workflow = load_workflow()
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"]["pull-requests"] == "write"

    steps = workflow["jobs"]["metrics"]["steps"]
    script = "\n".join(step.get("run", "") for step in steps)
    assert "make setup" in script and "make update" in script      # pull, then re-run what changed
    assert "profiles/" not in script                                # full params: like with like
    assert "vaelab.report.compare --rev main --markdown" in script
    assert "dvc metrics diff main --md" in script and "dvc params diff main --md" in script
    assert "dvc plots diff main" in script
    assert any("upload-artifact" in step.get("uses", "") for step in steps)
    assert any("github-script" in step.get("uses", "") for step in steps)
    assert "dvc remote modify --local storage url" in script        # the team's remote, from a secret

    smoke = "\n".join(step.get("run", "") for step in workflow["jobs"]["smoke"]["steps"])
    assert "profiles/apply.py profiles/pr.yaml" in smoke and "dvc repro" in smoke
    assert "diff" not in smoke                                      # never compared with main


def test_the_default_remote_is_a_verified_folder_beside_the_clone():
    import configparser
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc/config")
    assert config["core"]["remote"] == "storage"
    remote = config['\'remote "storage"\'']
    assert remote["url"] == "../../vaelab-storage"     # relative to .dvc/: beside the clone
    assert remote["verify"] == "true"                  # pulled files are re-hashed


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
    # params.yaml's comments document every knob: a profile merged in kept none (safe_dump)
    original, written = (REPO / "params.yaml").read_text(), params.read_text()
    comments = [line.split("#", 1)[1] for line in original.splitlines() if "#" in line]
    assert comments and all(c in written for c in comments)


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
