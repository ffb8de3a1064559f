import os
import stat

import pytest

from vaelab.core.io import atomic_path, read_json, save_tensors, usual_mode, write_json


def test_write_json_is_stable_and_readable(tmp_path):
    target = tmp_path / "sub" / "m.json"
    write_json(target, {"b": 1, "a": [1.5, 2]})
    assert target.read_text() == '{\n  "a": [\n    1.5,\n    2\n  ],\n  "b": 1\n}\n'
    assert read_json(target) == {"a": [1.5, 2], "b": 1}
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & stat.S_IRGRP, "files get the usual permissions, not mkstemp's 0600"


def test_tensors_get_the_usual_mode_though_safetensors_replaces_the_file(tmp_path):
    import torch
    target = tmp_path / "w.safetensors"
    save_tensors(target, {"w": torch.ones(2)})
    assert stat.S_IMODE(target.stat().st_mode) == usual_mode()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "m.json"
    write_json(target, {"old": True})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError("killed mid-write")
    assert read_json(target) == {"old": True}
    assert os.listdir(tmp_path) == ["m.json"]
