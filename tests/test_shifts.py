import math

import numpy as np
import pytest
import torch

from vaelab.core.batches import (
    batch_indices,
    random_affine,
    random_shift,
    random_stroke,
)
from vaelab.core.params import parse_params
from vaelab.core.runtime import rng_for, torch_generator
from vaelab.insight.digits.crop import change_stroke
from vaelab.mnist import data as mnist
from vaelab.mnist.data import MnistSplit


def make_split(images: torch.Tensor, labels=None) -> MnistSplit:
    n = images.shape[0]
    labels = torch.arange(n) % 10 if labels is None else labels
    return MnistSplit(images, labels, {"source_index": torch.arange(n)})


def bar_images(n: int) -> torch.Tensor:
    """A thick horizontal bar through the centre: orientation 0°."""
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[:, 12:16, 4:24] = 255
    return images


def orientation_degrees(image: torch.Tensor) -> float:
    """Principal-axis angle of the ink, counter-clockwise positive, in (-90, 90]."""
    weights = image.double()
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    x, y = cols.double(), -rows.double()  # y up, so counter-clockwise is positive
    total = weights.sum()
    mx, my = (weights * x).sum() / total, (weights * y).sum() / total
    cxx = (weights * (x - mx) ** 2).sum() / total
    cyy = (weights * (y - my) ** 2).sum() / total
    cxy = (weights * (x - mx) * (y - my)).sum() / total
    return math.degrees(0.5 * math.atan2(2 * cxy, cxx - cyy))


def test_rotation_turns_each_image_by_its_recorded_angle():
    clean = make_split(bar_images(200))
    rotated = mnist.rotate(clean, 30.0, rng_for(0, "rotated"))
    angles = rotated.extras["angle"]
    assert angles.abs().max() <= 30.0
    assert angles.min() < -25 and angles.max() > 25  # spread over the whole range
    for image, angle in zip(rotated.images, angles.tolist()):
        assert orientation_degrees(image) == pytest.approx(angle, abs=2.0)
    assert torch.equal(rotated.labels, clean.labels)


def test_rotation_angles_are_uniform_and_seeded():
    clean = make_split(torch.zeros(5000, 28, 28, dtype=torch.uint8))
    angles = mnist.rotate(clean, 30.0, rng_for(0, "rotated")).extras["angle"].numpy()
    assert abs(angles.mean()) < 1.0
    assert np.histogram(angles, bins=6, range=(-30, 30))[0].min() > 700  # ≈ 833 each
    again = mnist.rotate(clean, 30.0, rng_for(0, "rotated")).extras["angle"].numpy()
    other = mnist.rotate(clean, 30.0, rng_for(1, "rotated")).extras["angle"].numpy()
    assert np.array_equal(angles, again) and not np.array_equal(angles, other)


@pytest.mark.parametrize("shift", [mnist.rotate, mnist.add_noise], ids=["rotation", "noise"])
def test_a_zero_strength_shift_changes_nothing(shift):
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8)
    assert torch.equal(shift(make_split(images), 0.0, rng_for(0, "zero")).images, images)


def test_noise_has_the_requested_statistics_and_stays_in_range():
    grey = torch.full((400, 28, 28), 128, dtype=torch.uint8)
    noisy = mnist.add_noise(make_split(grey), 0.2, rng_for(0, "noisy"))
    change = noisy.images.float().sub(128).div(255)
    assert noisy.images.dtype == torch.uint8
    assert abs(change.mean().item()) < 0.003
    assert change.std().item() == pytest.approx(0.2, rel=0.03)  # clipping at ±2.5σ is rare
    black = mnist.add_noise(make_split(torch.zeros(50, 28, 28, dtype=torch.uint8)), 0.2,
                            rng_for(0, "noisy"))
    assert black.images.min() == 0 and black.images.float().mean() > 10  # negative noise clipped


def test_occlusion_zeroes_exactly_one_patch_inside_the_image():
    white = torch.full((3000, 28, 28), 255, dtype=torch.uint8)
    occluded = mnist.occlude(make_split(white), 8, rng_for(0, "occluded"))
    zeroed = occluded.images == 0
    assert (zeroed.flatten(1).sum(1) == 64).all()
    yx = occluded.extras["patch_yx"].long()
    assert yx.min() == 0 and yx.max() == 20  # both extremes reached, never outside
    for image_zeroed, (y, x) in zip(zeroed[:100], yx[:100].tolist()):
        assert image_zeroed[y:y + 8, x:x + 8].all()


def test_label_shift_keeps_exactly_the_named_digits():
    labels = torch.arange(100) % 10
    images = torch.arange(100, dtype=torch.uint8)[:, None, None].expand(100, 28, 28).clone()
    shifted = mnist.select_digits(make_split(images, labels), (0, 1, 2, 3, 4))
    assert len(shifted) == 50
    assert set(shifted.labels.tolist()) == {0, 1, 2, 3, 4}
    assert torch.equal(shifted.images[:, 0, 0].long(), shifted.extras["source_index"])


def test_split_is_disjoint_complete_and_seeded():
    pool = make_split(torch.zeros(1000, 28, 28, dtype=torch.uint8))
    train, val = mnist.split_train_val(pool, 100, rng_for(0, "split"))
    train_ids, val_ids = set(train.extras["source_index"].tolist()), set(val.extras["source_index"].tolist())
    assert len(val) == 100 and len(train) == 900
    assert not train_ids & val_ids and train_ids | val_ids == set(range(1000))
    _, again = mnist.split_train_val(pool, 100, rng_for(0, "split"))
    assert torch.equal(again.extras["source_index"], val.extras["source_index"])


def test_build_sets_follows_params(default_params):
    params = parse_params(default_params)
    images = torch.randint(0, 256, (300, 28, 28), dtype=torch.uint8)
    pool, test = make_split(images), make_split(images[:120].clone())
    sets = mnist.build_sets(pool, test, params.data.__class__(
        val_size=50, max_train_images=300, max_test_images=120, shifts=params.data.shifts), seed=0)
    assert [len(sets[k]) for k in ("train", "val", "test", "rotated", "noisy", "occluded")] == \
           [250, 50, 120, 120, 120, 120]
    assert set(sets["label_shift"].labels.tolist()) == {0, 1, 2, 3, 4}
    summary = mnist.describe_sets(sets)
    assert summary["rotated"]["angle_degrees"]["max"] <= 30
    assert 0 <= summary["occluded"]["share_unchanged"] <= 1


def test_random_shift_moves_each_image_by_an_integer_offset_within_range():
    images = torch.zeros(500, 1, 28, 28)
    images[:, 0, 14, 14] = 1.0
    shifted = random_shift(images, 2, torch_generator(0, "aug"))
    assert torch.equal(shifted.sum(dim=(1, 2, 3)), torch.ones(500))  # nothing lost, nothing added
    where = shifted.flatten(1).argmax(1)
    rows, cols = where // 28, where % 28
    assert set(rows.tolist()) == set(range(12, 17)) and set(cols.tolist()) == set(range(12, 17))
    assert torch.equal(random_shift(images, 0, torch_generator(0, "aug")), images)


def test_random_affine_rotates_and_scales_a_share_of_the_batch_about_the_centre():
    images = torch.zeros(400, 1, 28, 28)
    images[:, 0, 13:15, 6:22] = 1.0                       # a horizontal bar through the centre
    generator = torch_generator(0, "aug")
    before = generator.get_state()
    assert random_affine(images, 30, 0.1, 0.0, generator) is images  # off: nothing drawn
    assert torch.equal(generator.get_state(), before)
    assert torch.allclose(random_affine(images, 0, 0, 1.0, generator), images, atol=1e-5)
    warped = random_affine(images, 30, 0.1, 0.5, torch_generator(1, "aug"))
    changed = (warped - images).abs().flatten(1).amax(1) > 1e-3
    assert 150 <= int(changed.sum()) <= 250               # about half the batch
    rows = torch.arange(28.0)[None, :, None]
    centre_row = (warped[:, 0] * rows).sum((1, 2)) / warped[:, 0].sum((1, 2))
    assert (centre_row - 13.5).abs().max() < 0.5          # about the centre: the bar stays there
    # tilted: ink leaves the bar's two rows
    off_rows = warped[changed, 0][:, [r for r in range(28) if r not in (13, 14)]].sum((1, 2))
    assert (off_rows > 0.5).float().mean() > 0.8
    assert (warped[changed, 0].sum((1, 2)) / 32).sub(1).abs().max() < 0.25   # ink roughly kept

    def tilt(batch):   # correlation of row and column over the ink: the bar's slope
        ink = batch[:, 0]
        r = rows - (ink * rows).sum((1, 2), keepdim=True) / ink.sum((1, 2), keepdim=True)
        c = rows.transpose(1, 2) - (ink * rows.transpose(1, 2)).sum((1, 2), keepdim=True) \
            / ink.sum((1, 2), keepdim=True)
        spread = ((ink * r * r).sum((1, 2)) * (ink * c * c).sum((1, 2))).sqrt()
        return (ink * r * c).sum((1, 2)) / spread

    turned = tilt(random_affine(images, 30, 0.0, 1.0, torch_generator(2, "aug")))
    assert (turned > 0.3).any() and (turned < -0.3).any()       # turned both ways
    scaled = random_affine(images, 0, 0.1, 1.0, torch_generator(2, "aug"))
    assert tilt(scaled).abs().max() < 0.05                          # scaling alone turns nothing
    length = (scaled[:, 0, 13] > 0.5).sum(1).float()                # the bar's length: 16 × factor
    assert length.min() <= 15 and length.max() >= 17


def test_elastic_warp_bends_each_image_of_the_share_by_its_own_smooth_field():
    images = torch.zeros(200, 1, 28, 28)
    images[:, 0, 4:24, 13:15] = 1.0                       # a vertical bar through the centre
    # elastic 0 draws nothing but the affine part's three numbers per image: models trained
    # without it are unchanged
    a, b = torch_generator(3, "aug"), torch_generator(3, "aug")
    random_affine(images, 10, 0.1, 0.5, a, elastic=0.0)
    for _ in range(3):
        torch.rand(len(images), generator=b)
    assert torch.equal(a.get_state(), b.get_state())
    random_affine(images, 10, 0.1, 0.5, a, elastic=1.0)
    for _ in range(3):
        torch.rand(len(images), generator=b)
    assert not torch.equal(a.get_state(), b.get_state())
    bent = random_affine(images, 0, 0, 1.0, torch_generator(1, "aug"), elastic=1.5, spacing=7)
    changed = (bent - images).abs().flatten(1).amax(1) > 0.05
    assert bool(changed.all())                            # every image of the share is bent
    cols = torch.arange(28.0)
    centre_col = (bent[:, 0].sum(1) * cols).sum(1) / bent[:, 0].sum((1, 2))
    assert centre_col.std() > 0.2 and (centre_col - 13.5).abs().max() < 4   # own fields, a few px
    # smooth: along the bar, its column moves little from one row to the next
    rows_ink = bent[:, 0, 6:22]
    row_centres = (rows_ink * cols).sum(2) / rows_ink.sum(2).clamp_min(1e-6)
    assert (row_centres[:, 1:] - row_centres[:, :-1]).abs().median() < 0.5
    half = random_affine(images, 0, 0, 0.5, torch_generator(2, "aug"), elastic=1.5)
    moved = (half - images).abs().flatten(1).amax(1) > 0.05
    assert 70 <= int(moved.sum()) <= 130                   # only the share is bent


def test_random_stroke_widens_or_narrows_a_share_as_the_composer_does():
    images = torch.zeros(200, 1, 28, 28)
    images[:, 0, 4:24, 12:15] = 1.0                       # a 3-px vertical stroke
    images[:, 0, 20:23, 6:22] = 0.7                       # and a fainter bar across it
    generator = torch_generator(4, "aug")
    state = generator.get_state()
    assert random_stroke(images, 0.0, generator) is images     # off: nothing drawn
    assert torch.equal(generator.get_state(), state)
    changed = random_stroke(images, 1.0, torch_generator(5, "aug"))
    ink_before, ink_after = images.sum((1, 2, 3)), changed.sum((1, 2, 3))
    wider, narrower = ink_after > ink_before + 10, ink_after < ink_before - 10
    assert bool((wider | narrower).all()) and 60 <= int(wider.sum()) <= 140   # each way about half
    for i in (int(wider.nonzero()[0]), int(narrower.nonzero()[0])):     # the composer's own change
        expected = change_stroke(images[i, 0].numpy(), 1 if wider[i] else -1)
        assert np.abs(changed[i, 0].numpy() - expected)[2:-2, 2:-2].max() < 1e-5
    half = random_stroke(images, 0.5, torch_generator(6, "aug"))
    moved = (half - images).abs().flatten(1).amax(1) > 0.05
    assert 70 <= int(moved.sum()) <= 130                   # only the share is changed
    assert torch.equal(half[~moved], images[~moved])


def test_batch_indices_cover_every_index_once():
    seen = torch.cat(list(batch_indices(103, 10, torch_generator(0, "b"))))
    assert sorted(seen.tolist()) == list(range(103))
    assert torch.equal(torch.cat(list(batch_indices(7, 3))), torch.arange(7))
