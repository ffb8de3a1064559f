import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.params import parse_params
from vaelab.core.runtime import torch_generator
from vaelab.core.train import NonFiniteLossError, fit
from vaelab.mnist.classify import train_classifier
from vaelab.mnist.data import MnistSplit


def toy_problem(n=256):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def run_fit(model, x, y, step, epochs=5):
    return fit(model, name="toy", train_tensors=(x, y), step=step,
               validate=lambda m: {"loss": F.cross_entropy(m(x), y).item()},
               optimizer=torch.optim.Adam(model.parameters(), lr=0.05), epochs=epochs,
               batch_size=32, generator=torch_generator(0, "toy"), device=torch.device("cpu"),
               monitor="val/loss", mode="min", progress=False)


def ce_step(model, batch):
    x, y = batch
    loss = F.cross_entropy(model(x), y)
    return loss, {"loss": loss.item()}


def test_fit_lowers_the_loss_and_returns_the_best_epoch():
    x, y = toy_problem()
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    result = run_fit(model, x, y, ce_step)
    losses = [r["val/loss"] for r in result.history]
    assert losses[-1] < losses[0] * 0.7
    assert result.best_value == min(losses)
    assert result.history[result.best_epoch - 1]["val/loss"] == result.best_value
    assert set(result.best_state) == set(model.state_dict())


def test_non_finite_loss_stops_with_model_epoch_and_step_named():
    x, y = toy_problem()
    calls = {"n": 0}

    def exploding_step(model, batch):
        calls["n"] += 1
        loss, logs = ce_step(model, batch)
        return (loss * float("nan") if calls["n"] == 11 else loss), logs

    with pytest.raises(NonFiniteLossError, match=r"toy: loss became nan at epoch 2, step 2"):
        run_fit(nn.Linear(4, 2), x, y, exploding_step)


def test_a_loss_gone_nan_stops_a_stage_in_one_line(capsys, monkeypatch):
    """A learning rate far too high: one line naming the model and what to do, exit 2 — it was
    a traceback (found in review: autoencoders.cae.lr 1e30)."""
    from vaelab.core.cli import run_stage
    monkeypatch.delenv("DVC_STAGE", raising=False)
    x, y = toy_problem()
    with pytest.raises(SystemExit) as stop:
        run_stage(lambda: run_fit(nn.Linear(4, 2), x, y,
                                  lambda m, b: (ce_step(m, b)[0] * float("nan"), {})))
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.splitlines()) == 1
    assert "error: toy: loss became nan at epoch 1, step 0 (lower the learning rate" in err


def test_a_last_batch_of_one_image_is_left_out_so_batch_norm_can_train():
    """33 images in batches of 32 left one: BatchNorm1d raised "Expected more than 1 value per
    channel when training" (found in review: 54 913 training images in batches of 128)."""
    x, y = toy_problem(33)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    seen = []

    def counting_step(model, batch):
        seen.append(len(batch[0]))
        return ce_step(model, batch)
    run_fit(model, x, y, counting_step, epochs=2)
    assert seen == [32, 32]


def tiny_mnist_like(n, seed):
    """Two visually distinct classes drawn as random strokes (fast, no data files needed)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=gen)
    images = torch.randint(0, 60, (n, 28, 28), generator=gen, dtype=torch.uint8)
    images[labels == 0, 8:20, 12:16] = 255
    images[labels == 1, 12:16, 8:20] = 255
    return MnistSplit(images, labels)


def test_classifier_training_learns_and_is_deterministic(default_params):
    p = parse_params({**default_params, "classifier": {**default_params["classifier"],
                                                       "epochs": 2, "batch_size": 32}}).classifier
    train, val = tiny_mnist_like(256, 0), tiny_mnist_like(64, 1)
    torch.set_num_threads(2)
    first, result = train_classifier(p, 0, train, val, torch.device("cpu"))
    second, _ = train_classifier(p, 0, train, val, torch.device("cpu"))
    assert result.best_value >= 0.95
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[key]), key
