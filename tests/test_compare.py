"""`make compare`: dvc metrics diff with a within / beyond noise column."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vaelab.report.compare import compare, interval_of, noise_half_width, verdict


def test_noise_combines_both_intervals_and_the_seed_spread():
    assert noise_half_width([0.4, 0.6], [0.5, 0.7], None) == pytest.approx((0.02) ** 0.5)
    assert noise_half_width(None, None, None) is None
    assert noise_half_width(None, None, 0.01) == pytest.approx((2 * (1.96 * 0.01) ** 2) ** 0.5,
                                                               rel=1e-3)
    # a spread measured on three seeds is itself uncertain: Student's t with 2 degrees of freedom
    assert noise_half_width(None, None, 0.01, 3) == pytest.approx((2 * (4.303 * 0.01) ** 2) ** 0.5,
                                                                  rel=1e-3)
    assert noise_half_width(None, None, 0.01, 30) == pytest.approx(0.01 * 2.045 * 2 ** 0.5, rel=1e-3)
    assert verdict(0.50, 0.90, 0.1) == "beyond noise"
    assert verdict(0.50, 0.55, 0.1) == "within noise"
    assert verdict(0.50, 0.55, None) == "no interval"
    assert verdict(None, 0.55, 0.1) == "added"


def test_interval_is_read_beside_its_value():
    data = {"test": {"accuracy": 0.9, "accuracy_ci": [0.88, 0.92], "bad_ci": [1]}}
    assert interval_of(data, "test.accuracy") == [0.88, 0.92]
    assert interval_of(data, "test.bad") is None
    assert interval_of(None, "test.accuracy") is None


def test_an_interval_is_also_found_in_a_sibling_tree_of_intervals():
    data = {"auc": {"cae": {"rotated": {"fused": 0.6}}},
            "auc_ci": {"cae": {"rotated": {"fused": [0.58, 0.62]}}},
            "test": {"per_class_accuracy": {"5": 0.99}, "per_class_accuracy_ci": {"5": [0.98, 1.0]},
                     "per_class_accuracy_5_ci": [0, 1]}}
    assert interval_of(data, "auc.cae.rotated.fused") == [0.58, 0.62]
    assert interval_of(data, "test.per_class_accuracy.5") == [0.98, 1.0]
    assert interval_of(data, "auc.cae.noisy.fused") is None
    # the values inside a tree of intervals are not metrics of their own
    diff = {"m.json": {"auc_ci.cae.rotated.fused": {"old": 0.5, "new": 0.6},
                       "auc.cae.rotated.fused": {"old": 0.5, "new": 0.6}}}
    assert [c.key for c in compare(diff, {"m.json": data}, {"m.json": data})] == ["auc.cae.rotated.fused"]


def test_an_interval_known_on_one_side_stands_for_both_and_rounding_is_never_beyond_noise():
    # a metric that gained its interval in the newer code: the same sampling noise on both sides
    assert noise_half_width(None, [0.4, 0.6], None) == pytest.approx(0.02 ** 0.5)
    assert noise_half_width([0.4, 0.6], None, None) == pytest.approx(0.02 ** 0.5)
    # three seeds agreeing to six decimals give a spread of 0; the sixth decimal is still rounding
    assert verdict(0.999998, 0.999999, 0.0) == "within noise"
    assert verdict(0.0585, 0.0586, 0.0) == "within noise"
    assert verdict(0.999997, 0.999999, 0.0) == "beyond noise"
    assert verdict(0.0585, 0.0587, 0.0) == "beyond noise"
    assert verdict(2, 1, 0.0) == "beyond noise"       # a whole count: every change counts


def test_a_change_far_outside_the_interval_is_beyond_noise_and_headlines_come_first():
    old = {"metrics/classifier.json": {"test": {"accuracy": 0.90, "accuracy_ci": [0.89, 0.91]}},
           "metrics/quality.json": {"x": 1.0}}
    new = {"metrics/classifier.json": {"test": {"accuracy": 0.95, "accuracy_ci": [0.94, 0.96]}},
           "metrics/quality.json": {"x": 1.1}}
    diff = {"metrics/quality.json": {"x": {"old": 1.0, "new": 1.1}},
            "metrics/classifier.json": {"test.accuracy": {"old": 0.90, "new": 0.95}}}
    changes = compare(diff, old, new)
    assert [c.key for c in changes] == ["test.accuracy", "x"]
    assert changes[0].verdict == "beyond noise" and changes[1].verdict == "no interval"
    # the same change inside a wide interval, or inside the seed spread, is within noise
    wide = {"metrics/classifier.json": {"test": {"accuracy": 0.95, "accuracy_ci": [0.80, 1.0]}}}
    assert compare(diff, old, wide)[0].verdict == "within noise"
    spread = {"metrics/classifier.json:test.accuracy": {"std": 0.05}}
    assert compare(diff, {}, {}, spread)[0].verdict == "within noise"
    # a change of 3.5 seed spreads: beyond noise were the spread known exactly (1.96 · √2 = 2.8),
    # within it when the spread comes from three seeds, as metrics/spread.json's (4.30 · √2 = 6.1)
    spread = {"metrics/classifier.json:test.accuracy": {"std": 0.05 / 3.5}}
    assert compare(diff, {}, {}, spread)[0].verdict == "beyond noise"
    assert compare(diff, {}, {}, spread, seeds=3)[0].verdict == "within noise"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_command_on_two_commits_of_a_real_repository(tmp_path):
    dvc = Path(sys.executable).parent / "dvc"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def run(*cmd):
        return subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)

    run("git", "init", "-q", "-b", "main")
    run(str(dvc), "init", "-q")
    run(str(dvc), "config", "core.analytics", "false")
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - metrics/m.json\n")
    metrics = tmp_path / "metrics" / "m.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps({"a": {"accuracy": 0.50, "accuracy_ci": [0.45, 0.55]},
                                   "b": {"accuracy": 0.50, "accuracy_ci": [0.45, 0.55]}}))
    run("git", "add", "-A")
    run("git", "commit", "-qm", "base")
    metrics.write_text(json.dumps({"a": {"accuracy": 0.70, "accuracy_ci": [0.65, 0.75]},
                                   "b": {"accuracy": 0.51, "accuracy_ci": [0.46, 0.56]}}))
    out = subprocess.run([sys.executable, "-m", "vaelab.report.compare", "--rev", "main",
                          "--markdown"], cwd=tmp_path, env={**env, "PATH": f"{dvc.parent}:{env['PATH']}"},
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = {line.split("|")[1].strip(): line for line in out.stdout.splitlines()[2:]}
    assert "beyond noise" in lines["metrics/m.json: a.accuracy"]
    assert "within noise" in lines["metrics/m.json: b.accuracy"]


def test_the_spread_collector_on_seed_experiments_of_a_real_repository(tmp_path):
    """Three seeds (baseline 0, experiments 1 and 2) and one experiment that changes another
    param (left out): mean and standard deviation of each metric over the seeds."""
    dvc = Path(sys.executable).parent / "dvc"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": f"{dvc.parent}:{os.environ['PATH']}"}

    def run(*cmd):
        return subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)

    run("git", "init", "-q", "-b", "main")
    run("dvc", "init", "-q")
    run("dvc", "config", "core.analytics", "false")
    (tmp_path / "params.yaml").write_text("seed: 0\nscale: 1\n")
    (tmp_path / "make.py").write_text(
        "import json, yaml\np = yaml.safe_load(open('params.yaml'))\n"
        "json.dump({'a': {'acc': p['scale'] * (0.5 + p['seed'] / 100), 'acc_ci': [0, 1]}, 'b': 3},"
        " open('m.json', 'w'))\n")
    (tmp_path / "dvc.yaml").write_text(
        f"stages:\n  m:\n    cmd: {sys.executable} make.py\n    deps: [make.py]\n"
        "    params: [seed, scale]\n    metrics:\n      - m.json:\n          cache: false\n")
    run("dvc", "repro", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "base")
    for setting in ("seed=1", "seed=2", "scale=2"):
        run("dvc", "exp", "run", "-q", "-S", setting)
    run(sys.executable, "-m", "vaelab.report.spread", "--out", "spread.json")
    result = json.loads((tmp_path / "spread.json").read_text())
    assert result["seeds"] == [0, 1, 2]
    assert result["metrics"]["m.json:a.acc"] == {"mean": 0.51, "std": 0.01, "min": 0.5, "max": 0.52}
    assert result["metrics"]["m.json:b"]["std"] == 0.0
    assert "m.json:a.acc_ci" not in result["metrics"]
