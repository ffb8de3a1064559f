"""Sharing results through a DVC remote: push after a repro, pull before one.

    python -m vaelab.core.remote push   [--remote NAME]          # make push
    python -m vaelab.core.remote pull   [--remote NAME]          # make pull
    python -m vaelab.core.remote update [--remote NAME] [STAGE ...]   # make update (CI)

``update`` is what a pull request runs: pull every output the remote has (a stage whose output
is missing there is named, and then runs), then ``dvc repro``, so that only the stages whose code,
params or deps changed — and those whose outputs nobody pushed — run; it ends by listing the
stages that ran. The remote is checked first: an unknown name, or a local folder that cannot be
created or written (push, update) or is not there (pull), stops with one line naming it. Cloud
remotes (s3://, gs://, ssh://...) are left to DVC, which names them in its own errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse


class RemoteError(Exception):
    """The remote is not configured, or its folder cannot be used."""


def remotes(root: str | Path = ".") -> tuple[str | None, dict[str, str]]:
    """(the default remote's name, {name: url}) from the repository's DVC config (all levels:
    a ``--local`` override wins; relative local paths come back absolute)."""
    from dvc.repo import Repo
    with Repo(str(root)) as repo:
        config = repo.config
        return config["core"].get("remote"), {n: c["url"] for n, c in config["remote"].items()}


def check_remote(name: str | None = None, root: str | Path = ".", create: bool = True
                 ) -> tuple[str, str]:
    """The remote ``name`` (None: the default) as (name, url), its local folder created if
    needed and ``create`` (push, update); RemoteError naming it when it cannot be used — or,
    without ``create``, when its folder is not there (a pull would find nothing, and DVC said
    so in a page of missing files)."""
    default, urls = remotes(root)
    name = name or default
    if name is None:
        raise RemoteError("no default DVC remote is configured (README, 'Sharing results': "
                          "`dvc remote add -d NAME URL`)")
    if name not in urls:
        known = ", ".join(urls) or "none"
        raise RemoteError(f"DVC remote {name!r} is not configured (configured: {known})")
    url = urls[name]
    scheme = urlparse(url).scheme
    if scheme and len(scheme) > 1 and scheme != "file":   # s3://, gs://, ssh://... (not C:\)
        return name, url
    folder = Path(url.removeprefix("file://"))
    if folder.exists():
        if not folder.is_dir():
            raise RemoteError(f"DVC remote {name!r} ({folder}) is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise RemoteError(f"DVC remote {name!r} ({folder}) is not writable")
        return name, url
    if not folder.parent.is_dir():
        problem = "is not a folder" if folder.parent.exists() else "does not exist"
        raise RemoteError(f"DVC remote {name!r} ({folder}): {folder.parent} {problem} — mount "
                          f"it, or point the remote elsewhere with `dvc remote modify --local "
                          f"{name} url DIR`")
    if not create:
        raise RemoteError(f"DVC remote {name!r} ({folder}) does not exist: nothing to pull — a "
                          f"teammate's `make push` creates it, or point the remote elsewhere with "
                          f"`dvc remote modify --local {name} url DIR`")
    try:
        folder.mkdir()
    except OSError as err:
        raise RemoteError(f"DVC remote {name!r} ({folder}) cannot be created: {err.strerror}") from None
    return name, url


def _dvc_command() -> str:
    """The dvc next to this Python (the venv's), else the one on PATH."""
    dvc = Path(sys.executable).with_name("dvc")
    return str(dvc) if dvc.exists() else "dvc"


def _dvc(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """Run dvc, its output passed through unless captured."""
    return subprocess.run([_dvc_command(), *args], text=True, capture_output=capture)


def _with_deps(targets: list[str]) -> list[str]:
    """Targets with everything upstream of them (DVC takes a bare stage name as that stage alone)."""
    return ["--with-deps", *targets] if targets else []


def missing_outputs(targets: list[str]) -> dict[str, list[str]]:
    """{stage: [its outputs not in the workspace or cache]} after a pull, from `dvc status`."""
    proc = _dvc("status", "--json", *_with_deps(targets), capture=True)
    if proc.returncode != 0:
        return {}
    missing: dict[str, list[str]] = {}
    for stage, changes in json.loads(proc.stdout or "{}").items():
        for change in changes if isinstance(changes, list) else []:
            outs = change.get("changed outs", {}) if isinstance(change, dict) else {}
            gone = [path for path, state in outs.items() if state in ("not in cache", "deleted")]
            if gone:
                missing[stage] = gone
    return missing


def update(name: str, targets: list[str]) -> int:
    """Pull what the remote has, say which stages it lacks, reproduce; list the stages run."""
    _dvc("pull", "--allow-missing", "-r", name, *_with_deps(targets))
    for stage, paths in missing_outputs(targets).items():
        print(f"vaelab: {stage}: {', '.join(paths)} not on remote {name!r} — this stage runs",
              flush=True)
    proc = subprocess.Popen([_dvc_command(), "repro", *targets],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ran = []
    for line in proc.stdout:
        sys.stdout.write(line)
        match = re.match(r"Running stage '([^']+)'", line)
        if match:
            ran.append(match.group(1))
    code = proc.wait()
    print(f"vaelab: stages run: {', '.join(ran) if ran else 'none'}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("push", "pull", "update"))
    parser.add_argument("targets", nargs="*", help="stages (update) or outputs; default: all")
    parser.add_argument("--remote", help="remote name (default: the DVC default remote)")
    args = parser.parse_args(argv)
    try:
        # (update pulls what is there and runs the rest: an empty remote is no error for it)
        name, url = check_remote(args.remote, create=args.action != "pull")
    except RemoteError as err:
        print(f"vaelab remote: error: {err}", file=sys.stderr)
        return 2
    if args.action == "update":
        return update(name, args.targets)
    print(f"vaelab: {args.action} with DVC remote {name!r} ({url})", flush=True)
    return _dvc(args.action, "-r", name, *_with_deps(args.targets)).returncode


if __name__ == "__main__":
    sys.exit(main())
