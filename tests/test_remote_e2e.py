"""Sharing results through the default DVC remote (a folder beside the clone), as a team and
the pull-request workflow do: push in one clone, pull in another, re-run only what changed."""

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from vaelab.core.remote import RemoteError, check_remote

pytestmark = pytest.mark.e2e

TARGETS = ("train_autoencoder@conv_vae", "train_autoencoder@fc_vae")


def remote(repo, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return repo.run(sys.executable, "-m", "vaelab.core.remote", *args, check=check)


def clone(repo, name: str):
    """A `git clone` of ``repo`` beside it (so the relative default remote is the same folder)."""
    target = repo.root.parent / name
    repo.run("git", "clone", "-q", str(repo.root), str(target))
    return type(repo)(target, repo.env)


def lock_md5(repo, path: str) -> str:
    lock = yaml.safe_load((repo.root / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return out["md5"]
    raise KeyError(path)


def storage_object(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, insight_repo):
    """Repo A ran two tiny autoencoders and pushed; returns (A, the storage folder). A is a copy
    of the insight tests' repo (data and conv_vae ran there, so its push holds those too)."""
    from conftest import copy_of
    a = copy_of(insight_repo[0], tmp_path_factory.mktemp("team"))
    a.dvc("repro", *TARGETS)
    a.commit("trained")
    out = remote(a, "push").stdout
    store = a.root.parent / "vaelab-storage"
    assert "'storage'" in out and store.is_dir()
    return a, store


def test_a_clone_pulls_everything_and_reruns_only_the_stage_whose_params_changed(pushed):
    a, store = pushed
    b = clone(a, "b")
    remote(b, "pull", *TARGETS)   # the copy's dvc.lock also names stages A never ran
    assert "up to date" in b.dvc("status", *TARGETS).stdout          # nothing to run
    assert (b.root / "models/conv_vae.safetensors").read_bytes() == \
        (a.root / "models/conv_vae.safetensors").read_bytes()

    params = yaml.safe_load((b.root / "params.yaml").read_text())
    params["beta"] = 2.0
    b.write_params(params)
    out = remote(b, "update", *TARGETS).stdout
    assert "vaelab: stages run: train_autoencoder@conv_vae\n" in out
    assert "not on remote" not in out
    diff = json.loads(b.dvc("metrics", "diff", "HEAD", "--json").stdout)
    changed = {path for path, values in diff.items()
               if any(v.get("diff") not in (0, None) for v in values.values())}
    assert changed and all("conv_vae" in path for path in changed), changed


def test_a_stage_whose_output_the_remote_lacks_runs_and_says_so(pushed):
    a, store = pushed
    missing = storage_object(store, lock_md5(a, "models/fc_vae.safetensors"))
    kept = missing.read_bytes()
    missing.unlink()
    try:
        c = clone(a, "c")
        out = remote(c, "update", *TARGETS).stdout
    finally:
        missing.write_bytes(kept)
    assert "train_autoencoder@fc_vae: models/fc_vae.safetensors not on remote 'storage'" in out
    assert "vaelab: stages run: train_autoencoder@fc_vae\n" in out   # conv_vae came from the remote
    assert "up to date" in c.dvc("status", *TARGETS).stdout


def test_an_object_cut_short_on_the_remote_is_refused_not_checked_out(pushed):
    a, store = pushed
    obj = storage_object(store, lock_md5(a, "models/conv_vae.safetensors"))
    kept = obj.read_bytes()
    obj.write_bytes(kept[: len(kept) // 2])                # a half-written upload
    try:
        d = clone(a, "d")
        proc = remote(d, "pull", *TARGETS, check=False)
    finally:
        obj.write_bytes(kept)
    assert proc.returncode != 0
    assert "models/conv_vae.safetensors" in proc.stderr + proc.stdout
    assert not (d.root / "models/conv_vae.safetensors").exists()


def test_a_push_killed_midway_leaves_only_whole_objects(pushed, tmp_path):
    a, _ = pushed
    store = tmp_path / "fresh-storage"
    a.dvc("remote", "add", "--local", "-f", "fresh", str(store))
    try:
        # its own process group, so that the kill reaches the `dvc push` child too (killing only
        # the wrapper left the child writing while the storage was being checked)
        proc = subprocess.Popen([sys.executable, "-m", "vaelab.core.remote", "push", "--remote", "fresh"],
                                cwd=a.root, env=a.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None and not any(store.rglob("*")):
            time.sleep(0.01)
        # killed mid-push, or the check below would read a completed push (review)
        assert proc.poll() is None, "the push ended before it could be killed"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        objects = [p for p in (store / "files" / "md5").rglob("*") if p.is_file()] \
            if (store / "files").exists() else []
        for path in objects:                 # every object on the remote is whole: name = its md5
            if path.suffix == ".tmp":        # an upload cut short: DVC writes NAME.<uuid>.tmp, then
                continue                     # renames it, so a leftover never carries an md5 name
            if not path.name.endswith(".dir"):
                assert hashlib.md5(path.read_bytes()).hexdigest() == path.parent.name + path.name
        remote(a, "push", "--remote", "fresh")   # pushing again completes it, leftovers or not
        for out in ("models/conv_vae.safetensors", "models/fc_vae.safetensors"):
            md5 = lock_md5(a, out)
            assert hashlib.md5(storage_object(store, md5).read_bytes()).hexdigest() == md5
    finally:
        a.dvc("remote", "remove", "--local", "fresh")


def test_unknown_or_unusable_remotes_are_named(pushed, tmp_path):
    a, _ = pushed
    proc = remote(a, "push", "--remote", "nosuch", check=False)
    assert proc.returncode == 2 and "DVC remote 'nosuch' is not configured (configured: storage" in proc.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    a.dvc("remote", "modify", "--local", "storage", "url", str(blocker / "store"))
    try:
        proc = remote(a, "push", check=False)
        assert proc.returncode == 2
        assert f"DVC remote 'storage' ({blocker / 'store'}): {blocker} is not a folder" in proc.stderr
        a.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "nowhere" / "store"))
        proc = remote(a, "push", check=False)
        assert proc.returncode == 2 and f"{tmp_path / 'nowhere'} does not exist" in proc.stderr
        # a pull from a folder nobody pushed to: one line, and no empty folder made (review:
        # the folder was created, then DVC printed a page of missing files)
        a.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "empty-store"))
        proc = remote(a, "pull", check=False)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
        assert f"({tmp_path / 'empty-store'}) does not exist: nothing to pull" in proc.stderr
        assert not (tmp_path / "empty-store").exists()
        with pytest.raises(RemoteError, match="is a file, not a folder"):
            a.dvc("remote", "modify", "--local", "storage", "url", str(blocker))
            check_remote(root=a.root)
    finally:
        a.dvc("remote", "modify", "--local", "--unset", "storage", "url")
