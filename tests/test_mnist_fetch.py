"""Fetching real MNIST: from a local folder (VAELAB_MNIST_DIR) and the error when nothing works."""

import shutil

import pytest
from torchvision.datasets import MNIST

from vaelab.mnist import data as mnist


def test_local_folder_serves_as_mirror(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent/"])  # no network fallback
    train, test = mnist.fetch_mnist(tmp_path / "raw", mirror=mnist_dir)
    assert len(train) == 60000 and len(test) == 10000
    assert train.data.shape == (60000, 28, 28) and int(train.targets.max()) == 9
    # a second call reuses the unpacked files
    assert len(mnist.fetch_mnist(tmp_path / "raw", mirror=mnist_dir)[1]) == 10000


def test_environment_variable_names_the_folder(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv(mnist.MIRROR_ENV, str(mnist_dir))
    monkeypatch.setattr(MNIST, "mirrors", ["file:///nonexistent/"])
    assert len(mnist.fetch_mnist(tmp_path / "raw")[1]) == 10000


def test_missing_or_corrupt_files_are_named(tmp_path, mnist_dir):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(mnist_dir / "train-images-idx3-ubyte.gz", partial)
    with pytest.raises(mnist.MnistUnavailable, match="train-labels-idx1-ubyte.gz is missing"):
        mnist.fetch_mnist(tmp_path / "raw", mirror=partial)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(mnist_dir, corrupt)
    (corrupt / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
    with pytest.raises(mnist.MnistUnavailable, match=r"t10k-labels-idx1-ubyte.gz: md5 differs"):
        mnist.fetch_mnist(tmp_path / "raw", mirror=corrupt)


def test_without_network_or_folder_the_message_names_both_ways(tmp_path, monkeypatch):
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    monkeypatch.setattr(MNIST, "mirrors", [f"file://{tmp_path}/empty-mirror/"])
    with pytest.raises(mnist.MnistUnavailable) as info:
        mnist.fetch_mnist(tmp_path / "raw")
    message = str(info.value)
    assert "downloading it failed" in message and "VAELAB_MNIST_DIR" in message
