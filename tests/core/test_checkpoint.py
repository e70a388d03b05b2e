"""Model files: round trip, corrupt and hostile files, the published SIGGRAPH 2017 weights."""
from __future__ import annotations

import builtins
import copy
import dataclasses
import io
import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colorstudio.core.checkpoint import load_model, model_from_data, read_model_file, save_model
from colorstudio.core.errors import ModelFileError
from colorstudio.core.model import PRESETS, SIGGRAPH17, ColorNet


def sample_inputs(height: int = 32, width: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lum = torch.rand(1, 1, height, width, generator=g) * 100
    ab = torch.zeros(1, 2, height, width)
    mask = torch.zeros(1, 1, height, width)
    ab[:, :, 4:8, 6:10] = torch.tensor([40.0, -25.0])[None, :, None, None]
    mask[:, :, 4:8, 6:10] = 1.0
    ab[:, :, 20:23, 30:33] = torch.tensor([-10.0, 60.0])[None, :, None, None]
    mask[:, :, 20:23, 30:33] = 1.0
    return lum, ab, mask


@pytest.fixture(scope="module")
def tiny_net() -> ColorNet:
    torch.manual_seed(3)
    net = ColorNet(PRESETS["tiny"])
    # Non-trivial BatchNorm statistics and output layer, so a wrong load would show.
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                t.normal_(0, 0.1)
            elif name.startswith("model_out"):
                t.normal_(0, 0.05)
    return net.eval()


@pytest.fixture(scope="module")
def tiny_file(tiny_net: ColorNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_model(path, tiny_net, meta={"note": "test", "steps": 3})
    return path


def outputs(net: ColorNet, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        return net(*sample_inputs(seed=seed))


# -- round trip ----------------------------------------------------------------------------

def test_round_trip_rebuilds_the_same_network(tiny_net: ColorNet, tiny_file: Path) -> None:
    loaded, meta = load_model(tiny_file)
    assert loaded.config == tiny_net.config
    assert meta == {"note": "test", "steps": 3}
    assert not loaded.training
    for (k1, v1), (k2, v2) in zip(tiny_net.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    for seed in (0, 1):
        ab1, logits1 = outputs(tiny_net, seed)
        ab2, logits2 = outputs(loaded, seed)
        assert torch.equal(ab1, ab2) and torch.equal(logits1, logits2)
        assert ab1.abs().max() > 1.0  # the comparison is not between two zero outputs


def test_class_head_at_points_matches_the_full_head(tiny_net: ColorNet) -> None:
    # The engine applies the 1x1 class head only where a suggestion is asked for.
    inputs = sample_inputs()
    with torch.inference_mode():
        ab, logits, _fill, _density = tiny_net.forward_parts(*inputs)
        ab2, features, _fill, _density = tiny_net.forward_features(*inputs)
        points = [(0, 0), (3, 5), (7, 9)]
        f = torch.stack([features[0, :, r, c] for r, c in points])
        at = tiny_net.class_logits_at(f)
    assert torch.equal(ab, ab2)
    assert features.shape[1] == tiny_net.config.widths[2] and features.shape[2:] == logits.shape[2:]
    for i, (r, c) in enumerate(points):
        torch.testing.assert_close(at[i], logits[0, :, r, c], rtol=1e-5, atol=1e-5)


def test_channels_last_gives_the_same_output(tiny_net: ColorNet) -> None:
    fast = copy.deepcopy(tiny_net).to(memory_format=torch.channels_last)
    assert fast.model1[0].weight.is_contiguous(memory_format=torch.channels_last)
    for seed in (0, 1):
        (ab1, logits1), (ab2, logits2) = outputs(tiny_net, seed), outputs(fast, seed)
        torch.testing.assert_close(ab1, ab2, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(logits1, logits2, rtol=1e-4, atol=1e-4)


def test_without_the_full_resolution_level_the_first_level_runs_only_where_it_is_sampled() -> None:
    """`lite` drops `fast`'s full-resolution decoder level: its first block computes, with the
    same weights, exactly the pixels `fast`'s encoder takes from it, and its output is the
    full-resolution hint fill plus a correction predicted at half resolution."""
    torch.manual_seed(0)
    full = ColorNet(PRESETS["fast"]).eval()
    lite = ColorNet(PRESETS["lite"]).eval()
    missing, unexpected = lite.load_state_dict(full.state_dict(), strict=False)
    assert not missing and set(unexpected) == {k for k in full.state_dict() if k.startswith(("model10up", "model1short10"))}
    with torch.no_grad():
        for t in lite.model_out.parameters():
            t.normal_(0, 0.1)  # a non-zero correction
    lum, ab, mask = sample_inputs(32, 48)
    with torch.inference_mode():
        x, fill = lite.network_inputs(lum, ab, mask)
        torch.testing.assert_close(lite.model1(x), full.model1(x)[:, :, ::2, ::2])
        out, _logits = lite(lum, ab, mask)
    assert out.shape == ab.shape
    correction = (out - fill)[0]
    assert correction.abs().max() > 0.1
    # A correction predicted at half resolution and upsampled is smooth: averaging it
    # down to half resolution and upsampling again changes it little.
    half = F.avg_pool2d(correction[None], 2)
    torch.testing.assert_close(F.interpolate(half, scale_factor=2, mode="bilinear", align_corners=False)[0],
                               correction, atol=0.02 * float(correction.abs().max()), rtol=0)


def test_every_preset_round_trips_its_config(tmp_path: Path) -> None:
    for name in ("tiny", "small", "lite"):
        path = tmp_path / f"{name}.pt"
        save_model(path, ColorNet(PRESETS[name]))
        assert load_model(path)[0].config == PRESETS[name]


def test_half_precision_file_is_smaller_and_close(tiny_net: ColorNet, tiny_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "half.pt"
    save_model(path, tiny_net, half=True)
    assert path.stat().st_size < 0.75 * tiny_file.stat().st_size
    loaded, _ = load_model(path)
    assert all(v.dtype == tiny_net.state_dict()[k].dtype for k, v in loaded.state_dict().items())
    ab1, _ = outputs(tiny_net)
    ab2, _ = outputs(loaded)
    assert torch.allclose(ab1, ab2, atol=0.5)


def test_file_format_holds_only_plain_data(tiny_file: Path) -> None:
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    assert data["format"] == "colorstudio.model" and data["version"] == 1
    assert isinstance(data["config"], dict) and isinstance(data["model"], dict)


def test_failed_save_leaves_the_old_model_file(tiny_net: ColorNet, tiny_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(tiny_file.read_bytes())

    def half_then_fail(self: Path, data: bytes) -> int:
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError):
        save_model(path, ColorNet(PRESETS["small"]))
    monkeypatch.undo()
    assert path.read_bytes() == tiny_file.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


# -- corrupt and foreign files -------------------------------------------------------------

def expect_refused(path: Path, match: str) -> str:
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    assert "\n" not in message and len(message) < 600
    return message


def test_missing_empty_and_folder(tmp_path: Path) -> None:
    expect_refused(tmp_path / "absent.pt", "no such model file")
    (tmp_path / "empty.pt").write_bytes(b"")
    expect_refused(tmp_path / "empty.pt", "empty")
    (tmp_path / "folder.pt").mkdir()
    expect_refused(tmp_path / "folder.pt", "is a folder")


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tiny_file: Path, tmp_path: Path, fraction: float) -> None:
    raw = tiny_file.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(raw[: int(len(raw) * fraction)])
    expect_refused(path, "corrupt or truncated|not a readable model file")


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "random.pt"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    expect_refused(path, "not a readable model file|refused")


def test_text_and_image_files_named_pt(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights\n" * 10, "utf-8")
    expect_refused(path, "not a readable model file")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    expect_refused(path, "not a readable model file")


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (torch.zeros(3), "expected a dictionary"),
        ([1, 2, 3], "expected a dictionary"),
        ({"weights": torch.zeros(3)}, "not a ColorStudio model file"),
        ({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 512)},
         "not a ColorStudio model file"),
        ({"format": "colorstudio.model", "version": 2, "config": {}, "model": {}}, "version"),
        ({"format": "colorstudio.model", "version": 1, "model": {}}, "invalid model config"),
        ({"format": "colorstudio.model", "version": 1, "config": {"widths": [1, 2]}, "model": {}},
         "invalid model config"),
        ({"format": "colorstudio.model", "version": 1, "config": {"depth": 3}, "model": {}}, "invalid model config"),
        ({"format": "colorstudio.model", "version": 1, "config": "tiny", "model": {}}, "invalid model config"),
        ({"format": "colorstudio.model", "version": 1, "config": PRESETS["tiny"].to_dict()}, "has no weights"),
        ({"format": "colorstudio.model", "version": 1, "config": PRESETS["tiny"].to_dict(), "model": [1]},
         "has no weights"),
    ],
    ids=["bare tensor", "list", "unknown dict", "other network", "version 2", "no config", "short widths",
         "unknown config key", "config a string", "no weights", "weights a list"],
)
def test_foreign_and_malformed_contents(tmp_path: Path, payload: Any, match: str) -> None:
    path = tmp_path / "foreign.pt"
    torch.save(payload, path)
    expect_refused(path, match)


def test_weights_of_another_architecture_are_refused_before_allocating(tiny_file: Path, tmp_path: Path) -> None:
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    small = ColorNet(PRESETS["small"]).state_dict()
    mismatched = dict(data, model=small)  # config says tiny, weights are of the small preset
    path = tmp_path / "mismatch.pt"
    torch.save(mismatched, path)
    message = expect_refused(path, "weights do not fit the network they describe")
    assert "missing keys" in message or "shape" in message
    narrow = dict(data, model=ColorNet(dataclasses.replace(PRESETS["tiny"], widths=(8, 16, 32, 32))).state_dict())
    torch.save(narrow, path)  # same names, other widths
    assert "has shape" in expect_refused(path, "weights do not fit")
    # A config claiming enormous widths (hundreds of GB of weights) is refused by shape, not by running out of memory.
    huge = copy.deepcopy(data)
    huge["config"]["widths"] = [100_000, 100_000, 100_000, 100_000]
    huge["config"]["classes"] = 10**9
    torch.save(huge, path)
    expect_refused(path, "weights do not fit")


def test_missing_and_extra_weights_are_named(tiny_file: Path, tmp_path: Path) -> None:
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    data["model"].pop("model5.0.weight")
    data["model"]["model5.0.kernel"] = torch.zeros(1)
    path = tmp_path / "renamed.pt"
    torch.save(data, path)
    message = expect_refused(path, "weights do not fit")
    assert "model5.0.weight" in message and "model5.0.kernel" in message


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"dilation": 0}, "cannot run"),
        ({"dilation": "2"}, "invalid model config"),
        ({"l_norm": 0.0}, "non-finite"),
        ({"full_res_decoder": False, "residual": False}, "must be residual"),
    ],
)
def test_configs_that_cannot_run_are_refused_at_load(tiny_file: Path, tmp_path: Path, change: dict[str, Any],
                                                     match: str) -> None:
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    data["config"].update(change)
    path = tmp_path / "bad_config.pt"
    torch.save(data, path)
    expect_refused(path, match)


def test_nan_weights_are_refused(tiny_file: Path, tmp_path: Path) -> None:
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    data["model"]["model1.0.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(data, path)
    expect_refused(path, "non-finite")


# -- hostile pickles -----------------------------------------------------------------------

class RunsCode:
    """Unpickling this object calls open(marker, "w"): it creates a file, proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (builtins.open, (str(self.marker), "w"))


def hostile_files(tmp_path: Path, marker: Path, tiny_file: Path) -> dict[str, Path]:
    files = {}
    # 1. a plain pickle
    files["pickle"] = tmp_path / "plain_pickle.pt"
    files["pickle"].write_bytes(pickle.dumps(RunsCode(marker)))
    # 2. torch.save of a real-looking checkpoint with the payload inside (zip format)
    data = torch.load(tiny_file, map_location="cpu", weights_only=True)
    data["meta"] = {"note": RunsCode(marker)}
    files["torch.save"] = tmp_path / "torch_save.pt"
    torch.save(data, files["torch.save"])
    # 3. the same in PyTorch's legacy (non-zip) format
    files["legacy"] = tmp_path / "legacy.pt"
    torch.save({"model1.0.weight": torch.zeros(1), "x": RunsCode(marker)}, files["legacy"],
               _use_new_zipfile_serialization=False)
    # 4. a bare object saved with torch.save
    files["object"] = tmp_path / "object.pt"
    torch.save(RunsCode(marker), files["object"])
    return files


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickles_that_would_run_code_are_refused_without_running_it(tmp_path: Path, tiny_file: Path) -> None:
    marker = tmp_path / "CODE_RAN"
    files = hostile_files(tmp_path, marker, tiny_file)
    # The payloads are live: an unsafe load would run them.
    pickle.loads(files["pickle"].read_bytes())
    assert marker.exists()
    marker.unlink()
    torch.load(files["object"], weights_only=False)
    assert marker.exists()
    marker.unlink()

    for name, path in files.items():
        with pytest.raises(ModelFileError) as info:
            load_model(path)
        assert not marker.exists(), f"{name}: loading ran code from the file"
        message = str(info.value)
        assert message.startswith(str(path) + ": ") and "\n" not in message, message
        assert "refused" in message or "not a readable model file" in message, message
        assert "weights_only" not in message  # torch's advice to load unsafely is not passed on
    assert "io.open" in str(pytest.raises(ModelFileError, load_model, files["torch.save"]).value)


def test_engine_refuses_a_hostile_file(tmp_path: Path, tiny_file: Path) -> None:
    from colorstudio.core.engine import load_engine

    marker = tmp_path / "CODE_RAN"
    path = hostile_files(tmp_path, marker, tiny_file)["torch.save"]
    with pytest.raises(ModelFileError, match="refused"):
        load_engine(path, device="cpu")
    assert not marker.exists()


def test_read_model_file_returns_plain_data(tiny_file: Path) -> None:
    data = read_model_file(tiny_file)
    assert set(data) >= {"format", "version", "config", "model", "meta"}


# -- the published SIGGRAPH 2017 weights ---------------------------------------------------

def published_forward(sd: dict[str, torch.Tensor], lum: torch.Tensor, ab: torch.Tensor,
                      mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The released network's forward pass (Zhang et al. 2017), written out layer by layer.

    Inputs as the release takes them: L in [0, 100], ab in Lab units, mask in {0, 1};
    normalised as (L - 50) / 100 and ab / 110; output ab = 110 * tanh(...).
    """

    def conv(x: torch.Tensor, name: str, dilation: int = 1) -> torch.Tensor:
        w = sd[f"{name}.weight"]
        return F.conv2d(x, w, sd[f"{name}.bias"], padding=dilation * (w.shape[-1] // 2), dilation=dilation)

    def bn(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.batch_norm(x, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"],
                            sd[f"{name}.bias"], training=False, eps=1e-5)

    def block(x: torch.Tensor, seq: str, convs: int, dilation: int = 1) -> torch.Tensor:
        # conv, ReLU, ..., conv, ReLU, BatchNorm: convs at 0, 2, ..., norm at 2 * convs
        for i in range(convs):
            x = F.relu(conv(x, f"{seq}.{2 * i}", dilation))
        return bn(x, f"{seq}.{2 * convs}")

    def up(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.conv_transpose2d(x, sd[f"{name}.weight"], sd[f"{name}.bias"], stride=2, padding=1)

    x = torch.cat([(lum - 50.0) / 100.0, ab / 110.0, mask], dim=1)
    c1 = block(x, "model1", 2)
    c2 = block(c1[:, :, ::2, ::2], "model2", 2)
    c3 = block(c2[:, :, ::2, ::2], "model3", 3)
    c4 = block(c3[:, :, ::2, ::2], "model4", 3)
    c5 = block(c4, "model5", 3, dilation=2)
    c6 = block(c5, "model6", 3, dilation=2)
    c7 = block(c6, "model7", 3)
    u8 = up(c7, "model8up.0") + conv(c3, "model3short8.0")
    c8 = bn(F.relu(conv(F.relu(conv(F.relu(u8), "model8.1")), "model8.3")), "model8.5")
    u9 = up(c8, "model9up.0") + conv(c2, "model2short9.0")
    c9 = bn(F.relu(conv(F.relu(u9), "model9.1")), "model9.3")
    u10 = up(c9, "model10up.0") + conv(c1, "model1short10.0")
    c10 = F.leaky_relu(conv(F.relu(u10), "model10.1"), 0.2)
    out = torch.tanh(conv(c10, "model_out.0")) * 110.0
    logits = conv(c8, "model_class.0")
    return out, logits


@pytest.fixture(scope="module")
def published_state() -> OrderedDict[str, torch.Tensor]:
    """A state dict with the release's names and shapes and random values."""
    torch.manual_seed(17)
    with torch.device("meta"):
        shapes = ColorNet(SIGGRAPH17).state_dict()
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, ref in shapes.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(1000)
        elif name.endswith("running_var"):
            state[name] = torch.rand(ref.shape) + 0.5
        elif name.endswith("running_mean") or name.endswith("bias"):
            state[name] = torch.randn(ref.shape) * 0.1
        elif ref.ndim == 1:  # BatchNorm scale
            state[name] = 1.0 + 0.1 * torch.randn(ref.shape)
        else:
            fan_in = ref.shape[1] * ref.shape[2] * ref.shape[3] if ref.ndim == 4 else ref.shape[1]
            state[name] = torch.randn(ref.shape) * (2.0 / fan_in) ** 0.5
    return state


@pytest.fixture(scope="module")
def published_file(published_state: OrderedDict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("published") / "siggraph17-random.pth"
    torch.save(published_state, path)  # a bare state dict, as the release ships it
    return path


def test_published_weights_load_and_follow_the_published_conventions(
        published_state: OrderedDict[str, torch.Tensor], published_file: Path) -> None:
    model, meta = load_model(published_file)
    assert model.config == SIGGRAPH17
    assert "SIGGRAPH 2017" in meta.get("source", "")
    lum, ab, mask = sample_inputs(24, 40)
    with torch.inference_mode():
        got_ab, got_logits = model(lum, ab, mask)
        want_ab, want_logits = published_forward(published_state, lum, ab, mask)
    assert got_ab.shape == (1, 2, 24, 40) and got_logits.shape == (1, 529, 6, 10)
    assert want_ab.abs().max() > 1.0
    torch.testing.assert_close(got_ab, want_ab, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(got_logits, want_logits, atol=1e-3, rtol=1e-4)
    # The hint channels matter: the same photo without hints gives another answer.
    with torch.inference_mode():
        no_hints, _ = model(lum, torch.zeros_like(ab), torch.zeros_like(mask))
    assert (no_hints - got_ab).abs().max() > 1e-3


def test_published_weights_run_in_the_engine(published_file: Path) -> None:
    from colorstudio.core.engine import load_engine
    from colorstudio.core.hints import Hint

    engine = load_engine(published_file, device="cpu", working_size=32)
    image = (np.arange(30 * 44).reshape(30, 44) % 251).astype(np.uint8)
    out = engine.colorize(image, [Hint(0.5, 0.5, (200, 30, 30))])
    assert out.shape == (30, 44, 3) and out.dtype == np.uint8


def test_published_weights_saved_by_older_pytorch_load(published_state: OrderedDict[str, torch.Tensor]) -> None:
    # Older PyTorch wrote no BatchNorm batch counters; they play no part in inference.
    state = OrderedDict((k, v) for k, v in published_state.items() if not k.endswith("num_batches_tracked"))
    model, _ = model_from_data(state, "old.pth")
    assert torch.equal(model.state_dict()["model1.0.weight"], published_state["model1.0.weight"])


@pytest.mark.parametrize("how", ["missing", "renamed", "extra", "reshaped", "not a tensor"])
def test_published_weights_with_a_wrong_key_are_refused_clearly(
        published_state: OrderedDict[str, torch.Tensor], how: str) -> None:
    state = OrderedDict(published_state)
    key = "model5.2.weight"
    if how == "missing":
        del state[key]
    elif how == "renamed":
        state["model5.2.kernel"] = state.pop(key)
    elif how == "extra":
        state["model11.0.weight"] = torch.zeros(1)
    elif how == "reshaped":
        state["model_class.0.weight"] = torch.zeros(313, 256, 1, 1)
        key = "model_class.0.weight"
    else:
        state[key] = [1.0, 2.0]  # type: ignore[assignment]
    with pytest.raises(ModelFileError) as info:
        model_from_data(state, "siggraph17.pth")
    message = str(info.value)
    assert message.startswith("siggraph17.pth: not the SIGGRAPH 2017 user-guided colorization network"), message
    assert (key if how != "extra" else "model11.0.weight") in message
    assert "\n" not in message


def test_published_file_with_a_missing_key_is_refused_by_load_model(
        published_state: OrderedDict[str, torch.Tensor], tmp_path: Path) -> None:
    state = OrderedDict((k, v) for k, v in published_state.items() if k != "model8.3.bias")
    buf = io.BytesIO()
    torch.save(state, buf)
    path = tmp_path / "broken.pth"
    path.write_bytes(buf.getvalue())
    message = expect_refused(path, "not the SIGGRAPH 2017")
    assert "model8.3.bias" in message
    assert os.path.getsize(path) > 1_000_000


def test_a_damaged_model_file_is_refused_not_loaded(tiny_file: Path, tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tiny_file) as archive:  # the largest tensor's stored bytes
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    data = bytearray(tiny_file.read_bytes())
    with open(tiny_file, "rb") as f:  # its data starts after the local header (30 bytes, name, extra)
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
    middle = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    data[middle:middle + 8] = bytes(b ^ 0x5A for b in data[middle:middle + 8])  # bit rot, a bad download
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"damaged\.pt: corrupt model file \(a checksum does not match"):
        load_model(damaged)
