"""Training pipeline: hint simulation, a tiny run that learns, resume, eval table."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorstudio.core.checkpoint import load_model
from colorstudio.core.model import PRESETS, ColorNet
from colorstudio.train.data import build_cache, sample_batch, sample_hint_count, shift_colours, simulate_hints
from colorstudio.train.evaluate import colourfulness, eval_hints, evaluate, format_table, psnr
from colorstudio.train.loop import TrainConfig, get_lr, train, transfer_weights


def _make_photos(folder: Path, n: int = 12, size: int = 40) -> Path:
    """Colour photos with a learnable rule: bright regions are orange, dark ones blue."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[0:size, 0:size]
        bright = (x + (i % 5) * (y // 8 % 2) * 3) < size // 2 + (i % 3) * 4
        img = np.where(bright[..., None], [230, 140, 40], [30, 60, 170]).astype(np.float64)
        img += rng.normal(0, 6, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"p{i:02d}.png")
    return folder


def test_hint_count_distribution_is_geometric_with_about_one_in_eight_empty() -> None:
    rng = np.random.default_rng(1)
    counts = np.array([sample_hint_count(rng) for _ in range(20000)])
    assert 0.09 < np.mean(counts == 0) < 0.15
    assert counts.max() <= 100
    assert 5 < np.median(counts) < 9 or 4 <= np.median(counts) <= 9


def test_simulated_hints_reveal_the_patch_mean_colour() -> None:
    rng = np.random.default_rng(2)
    ab = torch.randn(3, 2, 32, 32) * 20
    hint_ab, mask = simulate_hints(ab, rng, counts=[0, 1, 5], max_patch=5)
    assert mask[0].sum() == 0
    assert mask[1].sum() >= 1 and mask[2].sum() >= mask[1].sum()
    # Image 1 has exactly one square patch: its colour is the true mean over the patch.
    rows, cols = torch.nonzero(mask[1, 0], as_tuple=True)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    assert int(mask[1, 0, r0:r1, c0:c1].sum()) == (r1 - r0) * (c1 - c0)
    expected = ab[1, :, r0:r1, c0:c1].mean(dim=(1, 2))
    assert torch.allclose(hint_ab[1, :, r0, c0], expected, atol=1e-4)
    assert torch.all(hint_ab[1][:, mask[1, 0] == 0] == 0)


def test_colour_shift_gives_chosen_photos_one_global_look_that_their_hints_reveal() -> None:
    rng = np.random.default_rng(3)
    ab = torch.randn(3, 2, 16, 16) * 20
    shifted = shift_colours(ab, rng, [True, False, True], saturation=(0.5, 0.5), cast=8.0)
    assert torch.equal(shifted[1], ab[1])  # not chosen: untouched
    for i in (0, 2):
        # One affine change of the whole photo: chroma halved, then one cast per channel.
        cast = shifted[i] - 0.5 * ab[i]
        assert torch.allclose(cast, cast[:, :1, :1].expand_as(cast), atol=1e-4)
        assert float(cast[:, 0, 0].abs().max()) > 0
    assert not torch.allclose(shifted[0] - 0.5 * ab[0], shifted[2] - 0.5 * ab[2])  # a look per photo
    hint_ab, mask = simulate_hints(shifted, rng, counts=[1, 1, 1], max_patch=1)
    r, c = [int(v[0]) for v in torch.nonzero(mask[0, 0], as_tuple=True)]
    assert torch.allclose(hint_ab[0, :, r, c], shifted[0, :, r, c])


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_bad_colour_shift_share_is_refused_before_training(tmp_path: Path, share: float) -> None:
    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "m.pt"), steps=1, colour_shift=share)
    with pytest.raises(ValueError, match="colour-shift"):
        train(cfg)
    assert not (tmp_path / "m.pt").exists()


def test_tiny_training_run_lowers_the_loss_and_resume_continues(tmp_path: Path) -> None:
    torch.manual_seed(0)
    photos = _make_photos(tmp_path / "photos")
    cache = build_cache(photos, tmp_path / "cache", side=40, workers=1, progress=False)
    assert len(cache) == 12
    lab = sample_batch(cache, 4, 32, np.random.default_rng(0))
    assert lab.shape == (4, 3, 32, 32) and float(lab[:, 0].min()) >= 0 and float(lab[:, 0].max()) <= 100
    out = tmp_path / "model.pt"
    cfg = TrainConfig(data=str(photos), out=str(out), preset="tiny", crop=32, batch=8, steps=60, lr=3e-3,
                      warmup_steps=5, cache_dir=str(tmp_path / "cache"), cache_side=40, log_every=1000)
    first = train(cfg, cache=cache)
    assert first["step"] == 60
    assert first["loss"] < 0.8 * first["first_loss"]
    model, meta = load_model(out)
    assert meta["steps"] == 60 and meta["reg_loss"] == "huber 1"
    cfg.steps, cfg.resume, cfg.colour_shift = 70, True, 0.5
    second = train(cfg, cache=cache)
    assert second["step"] == 70
    assert load_model(out)[1]["steps"] == 70 and load_model(out)[1]["colour_shift"] == 0.5


@pytest.mark.parametrize("share", [0.0, 0.6])
def test_a_batch_plan_realizes_what_the_step_by_step_functions_draw(share: float) -> None:
    """draw_plan + realize_batch (the training loop's vectorised path) give the batches that
    sample_batch, shift_colours and simulate_hints give one after another from the same seed."""
    from colorstudio.train.data import PhotoCache, draw_plan, realize_batch

    images = (np.random.default_rng(1).random((30, 48, 48, 3)) * 255).astype(np.uint8)
    cache = PhotoCache(images, None)
    rng = np.random.default_rng(5)
    idx, plan = draw_plan(len(cache), cache.side, 10, 32, rng, (1.0, 2.0), colour_shift=share)
    lab, hint_ab, mask = realize_batch(torch.from_numpy(images[idx]), plan)

    rng = np.random.default_rng(5)
    ref_lab = sample_batch(cache, 10, 32, rng, scale_range=(1.0, 2.0))
    if share:
        counts = [sample_hint_count(rng) for _ in range(10)]
        chosen = [n > 0 and rng.random() < share for n in counts]
        assert any(chosen) and not all(chosen)
        ref_lab = torch.cat([ref_lab[:, :1], shift_colours(ref_lab[:, 1:], rng, chosen)], dim=1)
        ref_hints, ref_mask = simulate_hints(ref_lab[:, 1:], rng, counts)
    else:
        ref_hints, ref_mask = simulate_hints(ref_lab[:, 1:], rng)
    assert torch.equal(lab, ref_lab) and torch.equal(mask, ref_mask) and mask.sum() > 0
    torch.testing.assert_close(hint_ab, ref_hints, atol=1e-4, rtol=0)


def test_overlapping_hints_show_the_later_patch_mean() -> None:
    from colorstudio.train.data import hint_id_map, paint_hints

    ab = torch.arange(2 * 8 * 8, dtype=torch.float32).view(1, 2, 8, 8)
    boxes = np.array([[0, 0, 4, 0, 4], [0, 2, 3, 2, 5]])  # a 4x4 patch, then a 1x3 strip over its corner
    hint_ab, mask = paint_hints(ab, torch.from_numpy(boxes), torch.from_numpy(hint_id_map(boxes, 1, 8, 8)))
    assert int(mask.sum()) == 16 + 1  # the strip adds one pixel outside the patch
    torch.testing.assert_close(hint_ab[0, :, 0, 0], ab[0, :, :4, :4].mean(dim=(1, 2)))
    torch.testing.assert_close(hint_ab[0, :, 2, 3], ab[0, :, 2:3, 2:5].mean(dim=(1, 2)))
    assert torch.all(hint_ab[0, :, 5:, :] == 0)


def test_worker_processes_draw_distinct_valid_batches_and_train(tmp_path: Path) -> None:
    from colorstudio.train.data import realize_batch
    from colorstudio.train.loop import _worker_batches

    photos = _make_photos(tmp_path / "photos")
    cache = build_cache(photos, tmp_path / "cache", side=40, workers=1, progress=False)
    cfg = TrainConfig(data=str(photos), out=str(tmp_path / "model.pt"), preset="tiny", crop=32, batch=6, steps=40,
                      lr=3e-3, warmup_steps=5, cache_dir=str(tmp_path / "cache"), cache_side=40, log_every=1000,
                      workers=2, colour_shift=0.5)
    stream = iter(_worker_batches(cache, cfg, seed_key=(0, 0, 0), pin=False))
    drawn = [realize_batch(*next(stream)) for _ in range(4)]
    for lab, hint_ab, mask in drawn:
        assert lab.shape == (6, 3, 32, 32) and hint_ab.shape == (6, 2, 32, 32) and mask.shape == (6, 1, 32, 32)
        assert torch.all(hint_ab[mask.expand_as(hint_ab) == 0] == 0)  # chroma only where hinted
    # The two workers have their own generators: no batch repeats another.
    assert all(not torch.equal(a[0], b[0]) for i, a in enumerate(drawn) for b in drawn[i + 1:])
    del stream
    cfg.log_every = 7  # the loop reads its loss terms from the device in bulk, every 7 steps and at the end
    result = train(cfg, cache=cache)
    assert result["step"] == 40 and result["loss"] < result["first_loss"]
    log = torch.load(tmp_path / "model.pt.state", weights_only=True)["log"]
    assert [r["step"] for r in log] == list(range(1, 41)) and all(r["loss"] > r["reg"] > 0 for r in log)


def test_a_negative_worker_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        train(TrainConfig(data=str(tmp_path), workers=-1, steps=1))


def test_regression_loss_goes_from_l1_to_squared_error_with_the_huber_threshold() -> None:
    from colorstudio.train.loop import loss_terms

    class Fixed(torch.nn.Module):  # predicts ab = 0 and uniform class logits
        def forward(self, lum, hint_ab, mask):  # noqa: ANN001, ANN201
            b, _, h, w = lum.shape
            return torch.zeros(b, 2, h, w), torch.zeros(b, 529, h // 4, w // 4)

    lab = torch.zeros(1, 3, 8, 8)
    lab[:, 1] = 6.0  # every a is 6 Lab units off, b is exact
    args = (Fixed(), lab, torch.zeros(1, 2, 8, 8), torch.zeros(1, 1, 8, 8), torch.ones(529), 0.0)
    _, near_l1 = loss_terms(*args, huber_delta=1.0)  # terms: loss, regression, cross-entropy
    _, squared = loss_terms(*args, huber_delta=25.0)
    assert float(near_l1[1]) == pytest.approx((6.0 - 0.5) / 2 / 10)  # (|e| - delta / 2) / 10, half the values
    assert float(squared[1]) == pytest.approx(0.5 * 36 / 2 / 250)  # e^2 / 2 / (10 delta)


def test_log_mse_loss_weighs_each_photo_by_its_own_error() -> None:
    from colorstudio.train.loop import regression_loss

    ab = torch.zeros(2, 2, 4, 4)
    out = torch.zeros(2, 2, 4, 4)
    out[0] += 1.0  # photo 0: nearly right (MSE 1)
    out[1] += 10.0  # photo 1: far off (MSE 100)
    loss = float(regression_loss(out, ab, "log-mse"))
    assert loss == pytest.approx(0.1 * (np.log(2.0) + np.log(101.0)) / 2)
    # The same reduction of the squared error is worth more on the nearly right photo,
    # as it is in photo-averaged PSNR; pooled squared error would value both the same.
    better_small, better_large = out.clone(), out.clone()
    better_small[0] = 0.0  # photo 0's MSE 1 -> 0
    better_large[1] = np.sqrt(99.0)  # photo 1's MSE 100 -> 99
    assert float(regression_loss(better_small, ab, "log-mse")) < float(regression_loss(better_large, ab, "log-mse"))
    assert float(regression_loss(better_small, ab, "huber", 1e3)) == pytest.approx(
        float(regression_loss(better_large, ab, "huber", 1e3)))
    with pytest.raises(ValueError, match="unknown regression loss"):
        regression_loss(out, ab, "l3")
    with pytest.raises(ValueError, match="unknown regression loss"):
        train(TrainConfig(reg_loss="l3", steps=1))  # refused before any data is read


def test_lr_schedule_warms_up_then_decays() -> None:
    assert get_lr(0.0, 1.0, 0, 100) == pytest.approx(0.01)
    assert get_lr(0.0, 1.0, 200, 100) == pytest.approx(1.0)
    assert get_lr(0.5, 1.0, 200, 100) == pytest.approx(0.51)
    assert get_lr(1.0, 1.0, 200, 100) == pytest.approx(0.02)


def test_eval_hints_reveal_6x6_patch_means_and_are_seeded() -> None:
    rgb = (np.random.default_rng(3).random((64, 80, 3)) * 255).astype(np.uint8)
    a, b = eval_hints(rgb, 10, 4), eval_hints(rgb, 10, 4)
    assert a == b and len(a) == 10
    assert eval_hints(rgb, 10, 5) != a
    from colorstudio.core.hints import patch_bounds

    for h in a:
        r0, r1, c0, c1 = patch_bounds(h, 64, 80)
        assert (r1 - r0, c1 - c0) == (6, 6)
        mean = rgb[r0:r1, c0:c1].reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(np.array(h.rgb) - mean) <= 0.5 + 1e-9)


def test_metrics() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255
    assert psnr(a, a) == 100.0
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (255 ** 2 / 48)))
    gray = np.full((8, 8, 3), 120, np.uint8)
    red = gray.copy()
    red[..., 0] = 220
    assert colourfulness(gray) == 0.0 and colourfulness(red) > 20


def test_eval_produces_the_table(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    photos = _make_photos(tmp_path / "val", n=3, size=48)
    result = evaluate(photos, {"tiny": tiny_engine}, counts=(0, 1, 10), progress=False, levin_cache=tmp_path / "c")
    assert result["photos"] == 3
    assert set(result["psnr"]) == {"grayscale", "levin", "tiny"}
    # Propagating 10 true colours beats the gray image on these two-colour photos.
    assert result["psnr"]["levin"][10] > result["psnr"]["grayscale"][10] + 3
    assert result["psnr"]["levin"][0] == pytest.approx(result["psnr"]["grayscale"][0])
    table = format_table(result)
    assert "| levin |" in table and "10 hints" in table and "Colourfulness" in table
    assert list((tmp_path / "c").glob("levin-*.npy")), "Levin results are cached"


def test_eval_command_without_model_scores_the_default_model(tmp_path: Path, tiny_model_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """No --model: the model chosen in the settings (one name) is scored, not each of its letters."""
    import json
    import shutil

    from colorstudio.cli import main

    models = tmp_path / "res" / "models"
    models.mkdir(parents=True)
    shutil.copy(tiny_model_path, models / "default.pt")
    monkeypatch.setenv("COLORSTUDIO_RESOURCES", str(tmp_path / "res"))
    photos = _make_photos(tmp_path / "val", n=2, size=40)
    out = tmp_path / "eval.json"
    assert main(["eval", "--data", str(photos), "--counts", "0", "1", "--no-levin", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["psnr"]) == {"grayscale", "default"} and result["photos"] == 2
    assert "| default |" in capsys.readouterr().out
    assert main(["eval", "--data", str(photos), "--counts", "1", "--no-baselines",
                 "--model", "default", "--model", str(tiny_model_path), "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["psnr"]) == {"default", tiny_model_path.stem}


def test_finalize_sets_the_engine_default_vividness(tmp_path: Path, tiny_model_path: Path) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.train.loop import finalize_model

    out = tmp_path / "final.pt"
    finalize_model(tiny_model_path, out, vividness=2.5)
    assert load_engine(out, device="cpu").vividness == 2.5
    assert load_engine(out, device="cpu", vividness=1.0).vividness == 1.0
    assert load_engine(tiny_model_path, device="cpu").vividness == 1.0


def test_vividness_boosts_automatic_colour_only_without_hints(tmp_path: Path, tiny_model_path: Path) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint

    img = (np.random.default_rng(5).random((48, 64)) * 255).astype(np.uint8)
    plain = load_engine(tiny_model_path, device="cpu")
    vivid = load_engine(tiny_model_path, device="cpu", vividness=3.0)
    a0, b0 = plain.predict(img, ()), vivid.predict(img, ())
    # No hints: the fill is zero, so the whole prediction is scaled by the gain.
    np.testing.assert_allclose(b0.ab, 3.0 * a0.ab, rtol=1e-4, atol=1e-3)
    many = [Hint((i + 0.5) / 20, 0.5, (200, 40, 30)) for i in range(20)]
    a1, b1 = plain.predict(img, many), vivid.predict(img, many)
    # With many hints the boost has faded away.
    assert np.abs(b1.ab - a1.ab).max() < 1e-3 * max(1.0, np.abs(a1.ab).max()) + 1e-3


@pytest.mark.parametrize("fade", [0.0, 0.25, 1.0])
def test_the_vividness_boost_shrinks_by_the_stored_fade_per_hint(tmp_path: Path, tiny_model_path: Path,
                                                                  fade: float) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint
    from colorstudio.train.loop import finalize_model

    out = tmp_path / f"fade-{fade}.pt"
    finalize_model(tiny_model_path, out, vividness=3.0, vividness_fade=fade)
    finalize_model(tiny_model_path, tmp_path / "plain.pt", vividness=1.0)  # the same fp16 weights
    img = (np.random.default_rng(6).random((48, 64)) * 255).astype(np.uint8)
    plain, vivid = load_engine(tmp_path / "plain.pt", device="cpu"), load_engine(out, device="cpu")
    assert vivid.vividness_fade == fade
    one = [Hint(0.1, 0.1, (200, 40, 30), size=0.01)]
    a, b = plain.predict(img, one), vivid.predict(img, one)
    far = (b.density < 1e-6)  # away from the hint the density term does not damp the boost
    assert far.mean() > 0.3
    gain = 1.0 + 2.0 * fade
    np.testing.assert_allclose((b.ab - b.fill)[far], gain * (a.ab - a.fill)[far], rtol=1e-3, atol=1e-3)


def test_trust_hints_halves_the_correction_at_n0_hints(tiny_model_path: Path) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint

    img = (np.random.default_rng(6).random((48, 64)) * 255).astype(np.uint8)
    hints = [Hint((i + 0.5) / 4, 0.3, (40, 90, 200)) for i in range(4)]
    plain = load_engine(tiny_model_path, device="cpu").predict(img, hints)
    trusting = load_engine(tiny_model_path, device="cpu", trust_hints=4.0).predict(img, hints)
    np.testing.assert_allclose(trusting.fill, plain.fill, atol=1e-5)
    np.testing.assert_allclose(trusting.ab - trusting.fill, 0.5 * (plain.ab - plain.fill), rtol=1e-3, atol=1e-3)


def test_hint_correction_scales_the_correction_only_once_there_are_hints(tmp_path: Path,
                                                                         tiny_model_path: Path) -> None:
    from colorstudio.cli import main
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint

    img = (np.random.default_rng(7).random((48, 64)) * 255).astype(np.uint8)
    hints = [Hint(0.3, 0.4, (200, 120, 40)), Hint(0.7, 0.6, (40, 90, 200))]
    final = tmp_path / "final.pt"
    assert main(["train", "--finalize", str(tiny_model_path), "--out", str(final), "--hint-correction", "0.6"]) == 0
    stored = load_engine(final, device="cpu")
    plain = load_engine(tiny_model_path, device="cpu")
    assert (stored.hint_correction, plain.hint_correction) == (0.6, 1.0)
    a, b = plain.predict(img, hints), stored.predict(img, hints)
    np.testing.assert_allclose(b.fill, a.fill, atol=1e-5)
    np.testing.assert_allclose(b.ab - b.fill, 0.6 * (a.ab - a.fill), rtol=1e-3, atol=1e-3)
    # Automatic colours (no hints) are untouched; an override wins over the stored value.
    np.testing.assert_allclose(stored.predict(img, ()).ab, plain.predict(img, ()).ab, atol=1e-4)
    assert load_engine(final, device="cpu", hint_correction=1.0).hint_correction == 1.0
    with pytest.raises(ValueError, match="hint_correction must be a number in \\[0, 1\\]"):
        load_engine(final, device="cpu", hint_correction=1.5)


def test_finalize_stores_the_native_size_and_scale_blend(tmp_path: Path, tiny_model_path: Path) -> None:
    from colorstudio.cli import main
    from colorstudio.core.engine import load_engine

    final = tmp_path / "final.pt"
    args = ["train", "--finalize", str(tiny_model_path), "--out", str(final),
            "--native-size", "64", "--scale-blend", "12"]
    assert main(args) == 0
    stored, plain = load_engine(final, device="cpu"), load_engine(tiny_model_path, device="cpu")
    assert (stored.native_size, stored.scale_blend) == (64, 12.0)
    assert (plain.native_size, plain.scale_blend) == (0, 25.0)
    assert main(["train", "--finalize", str(tiny_model_path), "--out", str(tmp_path / "bad.pt"),
                 "--native-size", "4"]) != 0
    assert not (tmp_path / "bad.pt").exists()


def test_training_can_start_from_a_model_file(tmp_path: Path, tiny_model_path: Path) -> None:
    photos = _make_photos(tmp_path / "photos", n=4)
    cache = build_cache(photos, tmp_path / "cache", side=40, workers=1, progress=False)
    out = tmp_path / "continued.pt"
    cfg = TrainConfig(data=str(photos), out=str(out), crop=32, batch=4, steps=1, lr=1e-9, warmup_steps=1,
                      log_every=1000, init=str(tiny_model_path))
    train(cfg, cache=cache)
    start, _ = load_model(tiny_model_path)
    after, _ = load_model(out)
    assert after.config == start.config  # the preset comes from the file, not from --preset
    w0, w1 = start.state_dict()["model1.0.weight"], after.state_dict()["model1.0.weight"]
    assert torch.allclose(w0.float(), w1.float(), atol=1e-3)


def test_training_a_new_preset_starts_from_the_layers_it_shares_with_a_model_file(
        tmp_path: Path, tiny_model_path: Path) -> None:
    photos = _make_photos(tmp_path / "photos", n=4)
    cache = build_cache(photos, tmp_path / "cache", side=40, workers=1, progress=False)
    out = tmp_path / "grown.pt"
    start, _ = load_model(tiny_model_path)
    assert start.config != PRESETS["fast"]
    cfg = TrainConfig(data=str(photos), out=str(out), preset="fast", crop=32, batch=4, steps=1, lr=1e-9,
                      warmup_steps=1, log_every=1000, init=str(tiny_model_path))
    train(cfg, cache=cache)
    after, _ = load_model(out)
    assert after.config == PRESETS["fast"]
    old, new = start.state_dict(), after.state_dict()
    shared = [k for k in new if k in old and old[k].shape == new[k].shape]
    differing = [k for k in new if k not in shared]
    assert shared and differing  # a partial transfer, not all or nothing
    for k in shared:
        if "running_" not in k and "num_batches" not in k:  # BatchNorm statistics move in a step
            assert torch.allclose(old[k].float(), new[k].float(), atol=1e-3), k


def test_transfer_refuses_a_model_with_nothing_in_common() -> None:
    model = ColorNet(PRESETS["fast"])
    with pytest.raises(ValueError, match="shares no layer"):
        transfer_weights(model, {"other.weight": torch.zeros(3)})


@pytest.mark.parametrize("scale", [(0.0, 1.0), (2.0, 1.0), (1.0, 9.0)])
def test_a_bad_magnification_range_is_refused_before_training(tmp_path: Path, scale: tuple[float, float]) -> None:
    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "m.pt"), steps=1, scale_min=scale[0], scale_max=scale[1])
    with pytest.raises(ValueError, match="scale range"):
        train(cfg)
    assert not (tmp_path / "m.pt").exists()


def test_a_wider_model_starts_out_computing_what_the_narrower_one_did() -> None:
    torch.manual_seed(0)
    narrow = ColorNet(PRESETS["small"])
    with torch.no_grad():
        for p in narrow.parameters():  # trained-looking weights: the residual output layer starts at zero
            p.add_(torch.randn_like(p) * 0.05)
        for m in narrow.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    wide = ColorNet(PRESETS["quality"])
    assert PRESETS["quality"].widths > PRESETS["small"].widths
    assert transfer_weights(wide, narrow.state_dict()) == len(wide.state_dict())
    narrow.eval()
    wide.eval()
    lum = torch.rand(2, 1, 32, 48) * 100
    hint_ab = torch.zeros(2, 2, 32, 48)
    mask = torch.zeros(2, 1, 32, 48)
    hint_ab[:, :, 5, 7] = torch.tensor([40.0, -20.0]).view(1, 2)
    mask[:, :, 5, 7] = 1
    with torch.no_grad():
        (ab_n, logits_n), (ab_w, logits_w) = narrow(lum, hint_ab, mask), wide(lum, hint_ab, mask)
    assert ab_n.abs().max() > 1  # not a trivial all-zero output
    assert torch.allclose(ab_n, ab_w, atol=1e-4) and torch.allclose(logits_n, logits_w, atol=1e-4)
    # The extra output channels start from fresh random weights (only what reads them starts at zero).
    grown = wide.state_dict()["model4.0.weight"]
    assert grown.shape[0] > narrow.state_dict()["model4.0.weight"].shape[0] and grown[64:].abs().sum() > 0


def test_pack_writes_a_subset_within_the_budget_that_training_reads(tmp_path: Path) -> None:
    from colorstudio.train.pack import pack_photos

    photos = _make_photos(tmp_path / "photos", n=12, size=40)
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    count, whole = pack_photos(photos, tmp_path / "all", budget_bytes=10**7, side=32, progress=False)
    assert count == 12
    budget = whole // 2
    count, size = pack_photos(photos, tmp_path / "pack", budget_bytes=budget, side=32, progress=False)
    packed = sorted((tmp_path / "pack").iterdir())
    assert 3 <= count < 12 and len(packed) == count
    assert size == sum(p.stat().st_size for p in packed) <= budget
    assert all(Image.open(p).size == (32, 32) for p in packed)
    assert {p.stem for p in packed} <= {Path(n).stem for n in before}
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before  # the originals are only read
    assert len(build_cache(tmp_path / "pack", tmp_path / "cache", side=32, workers=1, progress=False)) == count
    with pytest.raises(FileExistsError, match="already exists"):
        pack_photos(photos, tmp_path / "pack", budget_bytes=10**6, progress=False)
    with pytest.raises(ValueError, match="no photo could be packed"):
        pack_photos(photos, tmp_path / "none", budget_bytes=10, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all", "cache", "pack", "photos"]  # nothing half-written


def test_the_calibration_grid_fades_photos_keeping_their_lightness() -> None:
    import importlib.util

    from colorstudio.core.color import rgb_to_lab

    path = Path(__file__).parents[2] / "benchmarks" / "calibrate.py"
    spec = importlib.util.spec_from_file_location("calibrate", path)
    calibrate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calibrate)
    rgb = np.random.default_rng(4).integers(40, 200, (16, 16, 3), dtype=np.uint8)
    a, b = calibrate.faded(rgb, 0), calibrate.faded(rgb, 1)
    assert np.array_equal(a, calibrate.faded(rgb, 0))  # seeded by the photo's index
    assert not np.array_equal(a, b)
    lab, lab_a = rgb_to_lab(rgb), rgb_to_lab(a)
    assert np.abs(lab_a[..., 0] - lab[..., 0]).max() < 1.0  # the grayscale input is unchanged
    assert np.abs(lab_a[..., 1:] - lab[..., 1:]).mean() > 0.5


def test_the_levin_cache_is_keyed_by_the_hints_drawn_not_only_the_photo(tmp_path: Path, tiny_engine) -> None:  # noqa: ANN001
    import shutil

    a = _make_photos(tmp_path / "a", n=2, size=48)
    b = tmp_path / "b"
    b.mkdir()
    first = sorted(a.iterdir())[0]
    shutil.copy(first, b / "z.png")  # the same photo, second in folder b: other hints
    shutil.copy(sorted(a.iterdir())[1], b / "a.png")
    cache = tmp_path / "c"
    evaluate(a, {}, counts=(10,), progress=False, levin_cache=cache)
    cached = evaluate(b, {}, counts=(10,), progress=False, levin_cache=cache)["psnr"]["levin"][10]
    fresh = evaluate(b, {}, counts=(10,), progress=False, levin_cache=tmp_path / "fresh")["psnr"]["levin"][10]
    assert cached == pytest.approx(fresh, abs=1e-6)


def test_eval_refuses_what_it_cannot_score_with_a_reason(tmp_path: Path, tiny_engine, capsys) -> None:  # noqa: ANN001
    from colorstudio.cli import main

    gray = tmp_path / "gray"
    gray.mkdir()
    Image.fromarray(np.full((40, 40), 100, np.uint8)).save(gray / "g.png")
    with pytest.raises(ValueError, match="no colour photos to evaluate"):
        evaluate(gray, {"tiny": tiny_engine}, counts=(0,), progress=False)
    photos = _make_photos(tmp_path / "val", n=2, size=40)
    with pytest.raises(ValueError, match="hint counts must be whole numbers"):
        evaluate(photos, {}, counts=(-1,), progress=False)
    with pytest.raises(ValueError, match="--limit must be 0"):
        evaluate(photos, {}, counts=(0,), limit=-1, progress=False)
    code = main(["eval", "--data", str(photos), "--no-levin", "--json", str(tmp_path / "nope" / "r.json")])
    assert code != 0 and "nope" in capsys.readouterr().err


def test_eval_of_two_model_files_named_alike_gives_two_rows(tmp_path: Path, tiny_model_path: Path) -> None:
    import json
    import shutil

    from colorstudio.cli import main

    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        shutil.copy(tiny_model_path, tmp_path / d / "m.pt")
    photos = _make_photos(tmp_path / "val", n=1, size=40)
    out = tmp_path / "r.json"
    assert main(["eval", "--data", str(photos), "--counts", "0", "--no-baselines", "--json", str(out),
                 "--model", str(tmp_path / "a" / "m.pt"), "--model", str(tmp_path / "b" / "m.pt")]) == 0
    assert set(json.loads(out.read_text())["psnr"]) == {"m", "m (2)"}


def test_the_photo_cache_follows_the_photos_and_mends_itself(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    photos = _make_photos(tmp_path / "photos", n=4, size=40)
    cache = build_cache(photos, tmp_path / "cache", side=32, workers=1, progress=False)
    first = sorted(photos.iterdir())[0]
    Image.fromarray(np.full((40, 40, 3), (250, 0, 0), np.uint8)).save(first)  # replaced under the same name
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    again = build_cache(photos, tmp_path / "cache", side=32, workers=1, progress=False)
    assert again.path != cache.path and np.asarray(again.images[0]).reshape(-1, 3).mean(0)[0] > 200
    # A cache cut short (a full disk, a kill) is built again, not read as garbage.
    with open(again.path, "r+b") as f:
        f.truncate(100)
    mended = build_cache(photos, tmp_path / "cache", side=32, workers=1, progress=False)
    assert len(mended) == 4 and "incomplete or damaged" in capsys.readouterr().err


def test_photos_that_fail_or_have_no_colour_are_left_out_and_counted(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    photos = _make_photos(tmp_path / "photos", n=3, size=40)
    Image.fromarray(np.full((40, 40), 90, np.uint8)).convert("RGB").save(photos / "gray.png")
    bomb = photos / "bomb.png"  # a header claiming 20000 x 10000: Pillow's bomb check, not OSError
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bomb)
    data = bytearray(bomb.read_bytes())
    data[16:24] = (20000).to_bytes(4, "big") + (10000).to_bytes(4, "big")
    bomb.write_bytes(bytes(data))
    cache = build_cache(photos, tmp_path / "cache", side=32, workers=1, progress=False)
    assert len(cache) == 3
    assert "left out: 1 photos that cannot be read (e.g. bomb.png), 1 without colour" in capsys.readouterr().err
    only_gray = tmp_path / "gray"
    only_gray.mkdir()
    (photos / "gray.png").rename(only_gray / "gray.png")
    with pytest.raises(ValueError, match="no colour photo to learn from"):
        build_cache(only_gray, tmp_path / "cache", side=32, workers=1, progress=False)


@pytest.mark.parametrize("change, match", [
    ({"batch": 0}, "--batch must be at least 1"), ({"steps": -3}, "--steps must be at least 0"),
    ({"minutes": -1.0, "steps": 0}, "--minutes must be 0 or more"), ({"limit_photos": -4}, "--limit-photos"),
    ({"crop": 0}, "--crop must be at least 16"), ({"out": "OUTDIR"}, "is a folder"),
])
def test_bad_training_settings_are_refused_before_any_photo_is_read(tmp_path: Path, change: dict,
                                                                    match: str) -> None:
    fields = {"data": str(tmp_path / "no photos here"), "out": str(tmp_path / "m.pt"), "steps": 2, **change}
    if fields["out"] == "OUTDIR":
        fields["out"] = str(tmp_path)
    with pytest.raises(ValueError, match=match):
        train(TrainConfig(**fields))  # no data folder: it must fail on the setting, first


def test_a_damaged_training_state_is_named_when_resuming(tmp_path: Path) -> None:
    photos = _make_photos(tmp_path / "photos", n=4, size=40)
    state = tmp_path / "m.pt.state"
    state.write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(ValueError, match=r"m\.pt\.state: cannot resume from this training state file"):
        train(TrainConfig(data=str(photos), out=str(tmp_path / "m.pt"), steps=2, batch=2, crop=32, resume=True,
                          cache_dir=str(tmp_path / "cache"), device="cpu"))


def test_eval_without_scipy_says_so_before_reading_photos(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import importlib.util

    from colorstudio.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # the packaged app's case
                        lambda name, *a: None if name.split(".")[0] == "scipy" else real(name, *a))
    assert main(["eval", "--data", str(tmp_path / "nowhere")]) == 1
    assert "needs scipy, which this installation lacks; run with --no-levin" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and process ids as Linux has them")
def test_a_killed_cache_build_leaves_no_workers_and_its_part_file_is_removed(tmp_path: Path) -> None:
    import subprocess

    from colorstudio.train import data

    # A decoding worker asks the kernel to end it with the run (kill -9 of the run left two behind).
    code = ("import ctypes; from colorstudio.train.data import _die_with_parent; _die_with_parent(); "
            "v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); print(v.value)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "15"
    # The half-built cache of a run that is gone is removed; one a live process builds stays.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        data_path = tmp_path / "photos-abc123.u8"
        dead_part, live_part = (data_path.with_suffix(f".{p.pid}.part") for p in (gone, live))
        for part in (dead_part, live_part):
            part.write_bytes(b"\0" * 100)
        data._remove_orphaned_parts(data_path)
        assert not dead_part.exists() and live_part.exists()
    finally:
        live.kill()
        live.wait()
