"""Shared test setup: offscreen Qt, settings in tmp_path, a tiny random network on CPU."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SHIPPED_MODEL = REPO / "resources" / "models" / "default.pt"
QUALITY_MODEL = REPO / "resources" / "models" / "quality.pt"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("COLORSTUDIO_SETTINGS", str(home / "settings.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised model file (fast on CPU)."""
    from colorstudio.core.checkpoint import save_model
    from colorstudio.core.model import PRESETS, ColorNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.pt"
    save_model(path, ColorNet(PRESETS["tiny"]).eval(), meta={"note": "random weights for tests"})
    return path


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_path: Path):  # noqa: ANN201
    from colorstudio.core.engine import load_engine

    return load_engine(tiny_model_path, device="cpu")


@pytest.fixture
def gray_photo() -> np.ndarray:
    """A synthetic 96 x 128 grayscale photo with edges and gradients."""
    y, x = np.mgrid[0:96, 0:128]
    img = 60 + 100 * (x > 64) + 40 * np.sin(y / 9.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def shipped_models() -> list:
    """pytest.param per shipped model file (default, quality), skipped where it is absent."""
    return [pytest.param(path, id=path.stem, marks=pytest.mark.skipif(not path.exists(), reason=f"{path.name} not present"))
            for path in (SHIPPED_MODEL, QUALITY_MODEL)]


def requires_shared_data() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (SHARED_DATA / "val256").is_dir(), reason="../shared/data not present")
