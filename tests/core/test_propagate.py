"""The edge-aware hint fill the network takes as input."""
from __future__ import annotations

import pytest
import torch

from colorstudio.core.propagate import affinity_pyramid, edge_aware_fill


def two_halves(h: int = 64, w: int = 96) -> torch.Tensor:
    lum = torch.full((1, 1, h, w), 25.0)
    lum[..., w // 2:] = 75.0
    return lum


def one_hint(h: int, w: int, row: int, col: int, ab: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    hint_ab = torch.zeros(1, 2, h, w)
    mask = torch.zeros(1, 1, h, w)
    hint_ab[0, :, row:row + 3, col:col + 3] = torch.tensor(ab)[:, None, None]
    mask[0, 0, row:row + 3, col:col + 3] = 1
    return hint_ab, mask


def test_a_single_hint_colours_the_whole_photo() -> None:
    # With one colour given, the smoothest fill is that colour everywhere (as in Levin et al.).
    hint_ab, mask = one_hint(64, 96, 30, 10, (40.0, -30.0))
    fill, density = edge_aware_fill(two_halves(), hint_ab, mask)
    torch.testing.assert_close(fill[0, :, 30, 10], torch.tensor([40.0, -30.0]), atol=1.0, rtol=0)
    assert (fill[0, 0] > 0).all() and (fill[0, 1] < 0).all()
    assert density[0, 0, 31, 11] > 0.3 and density[0, 0, 60, 90] == 0


def test_two_hints_on_two_sides_of_an_edge_keep_their_colours_apart() -> None:
    a_ab, a_mask = one_hint(64, 96, 30, 10, (40.0, -30.0))
    b_ab, b_mask = one_hint(64, 96, 30, 80, (-20.0, 50.0))
    fill, _ = edge_aware_fill(two_halves(), a_ab + b_ab, a_mask + b_mask)
    a, b = torch.tensor([40.0, -30.0])[:, None, None], torch.tensor([-20.0, 50.0])[:, None, None]
    dist_a, dist_b = (fill[0] - a).norm(dim=0), (fill[0] - b).norm(dim=0)
    assert (dist_a[:, :48] < dist_b[:, :48]).all() and (dist_b[:, 48:] < dist_a[:, 48:]).all()
    steps = (fill[0, :, :, 1:] - fill[0, :, :, :-1]).norm(dim=0)  # (64, 95) column to column
    across = steps[:, 47].min()
    assert across > 3 * torch.cat([steps[:, :46], steps[:, 49:]], dim=1).max()  # the change is at the edge


def test_no_hints_give_a_zero_fill_and_density() -> None:
    lum = torch.rand(2, 1, 40, 56) * 100
    fill, density = edge_aware_fill(lum, torch.zeros(2, 2, 40, 56), torch.zeros(2, 1, 40, 56))
    assert fill.shape == (2, 2, 40, 56) and density.shape == (2, 1, 40, 56)
    assert not fill.any() and not density.any()


@pytest.mark.parametrize("shape", [(64, 96), (37, 53), (9, 300)])
def test_a_kept_pyramid_gives_the_same_fill(shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    h, w = shape
    lum = torch.rand(1, 1, h, w) * 100
    hint_ab, mask = one_hint(h, w, h // 3, w // 4, (10.0, 30.0))
    direct = edge_aware_fill(lum, hint_ab, mask)
    kept = edge_aware_fill(lum, hint_ab, mask, pyramid=affinity_pyramid(lum))
    assert torch.equal(direct[0], kept[0]) and torch.equal(direct[1], kept[1])


def test_a_pyramid_of_another_image_size_is_refused() -> None:
    lum = torch.rand(1, 1, 64, 64) * 100
    hint_ab, mask = one_hint(64, 64, 20, 20, (10.0, 30.0))
    with pytest.raises(ValueError, match="another size"):
        edge_aware_fill(lum, hint_ab, mask, pyramid=affinity_pyramid(torch.rand(1, 1, 32, 64)))


def test_a_batch_is_filled_image_by_image() -> None:
    torch.manual_seed(1)
    lum = torch.rand(3, 1, 48, 48) * 100
    hint_ab = torch.zeros(3, 2, 48, 48)
    mask = torch.zeros(3, 1, 48, 48)
    for i in (0, 2):  # image 1 has no hints
        a, m = one_hint(48, 48, 10 + 8 * i, 12, (float(10 * i - 15), 25.0))
        hint_ab[i], mask[i] = a[0], m[0]
    fill, _ = edge_aware_fill(lum, hint_ab, mask)
    for i in range(3):
        alone, _ = edge_aware_fill(lum[i:i + 1], hint_ab[i:i + 1], mask[i:i + 1])
        torch.testing.assert_close(fill[i:i + 1], alone, atol=1e-4, rtol=0)
    assert not fill[1].any()


@pytest.mark.parametrize(("shape", "levels"), [((160, 160), 4), ((107, 160), 4), ((128, 128), 4), ((256, 256), 5),
                                               ((170, 256), 4), ((12, 12), 0)])
def test_pyramid_levels_stop_at_a_short_side_of_at_most_12_px(shape: tuple[int, int], levels: int) -> None:
    """A 3:2 photo at the native 160 px gets the levels a square one gets (the coarsest
    level's short side 6 to 12 px), so hints spread as far; training crops keep theirs."""
    pyramid = affinity_pyramid(torch.rand(1, 1, *shape) * 100)
    assert len(pyramid) == levels + 1
    assert min(pyramid[-1][0].shape[-2:]) <= 12


def test_a_hint_spreads_as_far_in_a_landscape_photo_as_in_a_square_one() -> None:
    """Two hints at the two ends of a soft lightness ramp: each colour reaches as far from
    its hint in both shapes (with a level too few, the 3:2 one's colours stayed
    close around their hints: a quarter of the way across, 1 Lab unit against 12)."""
    fills = []
    for h in (160, 107):
        lum = torch.linspace(40, 60, 160).repeat(1, 1, h, 1)
        hint_ab = torch.zeros(1, 2, h, 160)
        mask = torch.zeros(1, 1, h, 160)
        for col, a in ((2, 40.0), (154, -40.0)):
            hint_ab[0, 0, h // 2:h // 2 + 4, col:col + 4] = a
            mask[0, 0, h // 2:h // 2 + 4, col:col + 4] = 1
        fill, _ = edge_aware_fill(lum, hint_ab, mask)
        fills.append(fill[0, 0])
    square, wide = fills
    assert abs(float(wide[53, 40]) - float(square[80, 40])) < 4.0
    assert float(wide[53, 40]) > 5.0 and float(wide[53, 120]) < -5.0  # each side leans to its own hint
