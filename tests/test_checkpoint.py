import json

import pytest
import torch
from safetensors.torch import load_file

from vaelab.core.checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from vaelab.core.params import parse_params
from vaelab.core.registry import build_model
from vaelab.mnist.classify import build_classifier, classifier_config


def trained_looking_classifier(default_params):
    p = parse_params(default_params).classifier
    torch.manual_seed(0)
    model = build_classifier(p)
    model.train()
    with torch.no_grad():  # move BatchNorm running statistics away from their initial values
        for _ in range(3):
            model(torch.rand(32, 1, 28, 28))
    return p, model.eval()


def test_round_trip_reproduces_outputs_exactly(tmp_path, default_params):
    p, model = trained_looking_classifier(default_params)
    save_checkpoint(tmp_path / "classifier", model, "cnn_classifier", classifier_config(p),
                    info={"best_epoch": 3})
    restored = load_checkpoint(tmp_path / "classifier")
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), restored(x))
        assert torch.equal(model.features(x), restored.features(x))
    assert not restored.training


def test_checkpoint_is_plain_tensors_plus_a_rebuild_description(tmp_path, default_params):
    p, model = trained_looking_classifier(default_params)
    save_checkpoint(tmp_path / "classifier", model, "cnn_classifier", classifier_config(p))
    weights, description = checkpoint_paths(tmp_path / "classifier")
    tensors = load_file(str(weights))  # safetensors: no pickle involved
    assert set(tensors) == set(model.state_dict())
    meta = json.loads(description.read_text())
    assert meta["kind"] == "cnn_classifier" and meta["config"]["channels"] == list(p.channels)
    rebuilt = build_model(meta["kind"], meta["config"])
    assert sum(t.numel() for t in rebuilt.parameters()) == sum(t.numel() for t in model.parameters())


def test_unknown_kind_and_missing_checkpoint_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown model kind 'resnet'; known kinds: cnn_classifier"):
        build_model("resnet", {})
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        load_checkpoint(tmp_path / "nothing")


def test_a_description_that_builds_no_model_names_its_file(tmp_path, default_params):
    """An unknown kind or a misspelt config key raised ValueError / TypeError, which stages
    and commands print as a traceback (found in review)."""
    p, model = trained_looking_classifier(default_params)
    save_checkpoint(tmp_path / "clf", model, "cnn_classifier", classifier_config(p))
    description = tmp_path / "clf.json"
    meta = json.loads(description.read_text())
    for kind, config in (("cnn_classifer", meta["config"]),
                         ("cnn_classifier", {**meta["config"], "chanels": [8, 16, 32]})):
        description.write_text(json.dumps({**meta, "kind": kind, "config": config}))
        with pytest.raises(FileNotFoundError, match=r"clf\.json: does not describe a model .*"
                                                    r"re-create it with `dvc repro train_x`"):
            load_checkpoint(tmp_path / "clf", stage="train_x")


def test_a_damaged_prepared_set_names_its_file(tmp_path):
    from safetensors.torch import save_file

    from vaelab.mnist.data import load_split
    (tmp_path / "test.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    (tmp_path / "val.safetensors").write_bytes(b"")
    save_file({"labels": torch.zeros(3, dtype=torch.uint8)}, str(tmp_path / "train.safetensors"))
    with pytest.raises(FileNotFoundError, match="test.safetensors: not a readable safetensors"):
        load_split(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="val.safetensors: not a readable safetensors"):
        load_split(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match=r"train.safetensors: holds no images \(tensors: "
                                                r"labels\); re-create it with `dvc repro "
                                                r"prepare_mnist`"):
        load_split(tmp_path, "train")
