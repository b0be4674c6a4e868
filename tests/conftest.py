"""Shared fixtures: every test runs offline, on its own data dir, with the fake hash embedder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from hypothesis import settings as hypothesis_settings  # noqa: E402

from rag.config import Settings, load_settings  # noqa: E402

hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")  # CI replays the same examples: no run fails by chance

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "data" / "sample"


MODELS_DIR = REPO / ".rag-data" / "models"  # shared with `make demo`: the bf16 cache is built once


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Hash embedder, fake generator, two workers, a private data dir."""
    return load_settings({}, data_dir=tmp_path / "data", embedder="hash", model="fake", workers=2,
                         file_timeout_s=60.0, models_dir=MODELS_DIR)


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of data/sample/ that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(SAMPLE_DIR, target)
    return target


@pytest.fixture(scope="session")
def eval_data() -> Path:
    path = load_settings().eval_data
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path} (set RAG_EVAL_DATA)")
    return path


@pytest.fixture
def output_dir() -> Path:
    """Where tests save artefacts worth keeping (screenshots, reports)."""
    path = REPO / "test-output"
    path.mkdir(exist_ok=True)
    return path
