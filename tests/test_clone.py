"""`vaelab` and the studio find the clone's models/, data/ and params.yaml from any folder."""

import pytest

from vaelab.command.main import main
from vaelab.core.clone import CLONE, clone_first, here_or_clone


def test_the_clone_is_this_repository():
    assert (CLONE / "dvc.yaml").is_file() and (CLONE / "src" / "vaelab").is_dir()


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A clone holding models/ and a working folder of the user's own, the current folder."""
    root = tmp_path / "clone"
    (root / "models").mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    work = tmp_path / "photos"
    work.mkdir()
    monkeypatch.chdir(work)
    return root


def test_a_path_missing_here_is_taken_from_the_clone(clone):
    assert here_or_clone("models", clone) == clone / "models"


def test_a_path_here_wins_over_the_clone(clone):
    (clone.parent / "photos" / "models").mkdir()
    assert here_or_clone("models", clone) == type(clone)("models")


def test_absolute_paths_and_paths_missing_everywhere_stay_as_given(clone, tmp_path):
    assert here_or_clone(tmp_path / "elsewhere", clone) == tmp_path / "elsewhere"
    assert here_or_clone("data/prepared", clone) == type(clone)("data/prepared")   # named in errors


def test_a_folder_without_dvc_yaml_is_no_clone(clone):
    (clone / "dvc.yaml").unlink()
    assert here_or_clone("models", clone) == type(clone)("models")


def test_the_command_run_elsewhere_names_the_models_folder_it_looked_in(clone, monkeypatch, capsys):
    """From a folder of photos, with no models in the clone either: the error names models/ (as
    asked), not a path the user never gave."""
    monkeypatch.setattr("vaelab.core.clone.CLONE", clone)
    (clone / "models").rmdir()
    (clone.parent / "photos" / "a.png").write_bytes(b"")
    assert main(["read", "a.png", "--quiet"]) == 2
    assert "models/number_reader.json: missing" in capsys.readouterr().err


def test_the_clones_own_file_wins_over_one_here(clone):
    (clone / "params.yaml").write_text("x: 1\n")
    (clone.parent / "photos" / "params.yaml").write_text("another project\n")
    assert clone_first("params.yaml", clone) == clone / "params.yaml"
    (clone / "params.yaml").unlink()
    assert clone_first("params.yaml", clone) == type(clone)("params.yaml")
