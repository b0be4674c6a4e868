"""One typed Settings object, read once from the environment and passed explicitly."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / ".rag-data"
DEFAULT_EVAL_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "eval-data"
RUNNERS = ("local", "ray")  # where ingest parses files: a local process pool, or Ray (ingest/ray_runner.py)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; built by :func:`load_settings`."""

    data_dir: Path = DEFAULT_DATA_DIR
    eval_data: Path = DEFAULT_EVAL_DATA
    collection: str = "default"
    embedder: str = "packaged"
    device: str = "auto"
    chunk_tokens: int = 240
    chunk_overlap: int = 32
    top_k: int = 5
    workers: int = max(1, min(4, os.cpu_count() or 1))
    file_timeout_s: float = 300.0  # per file; OCR of scanned pages gets 80% of it
    ocr: str = "eng"  # Tesseract language(s) for pages without a text layer ("eng+fra"), or "off"
    max_file_mb: float = 256.0
    worker_memory_mb: int = 4096
    runner: str = "local"  # one of RUNNERS
    ray_address: str | None = None  # with the ray runner: None starts a local Ray; "auto" or ray://HOST:PORT joins one
    embed_batch_size: int = 32
    model: str = "default"
    max_context_tokens: int = 4096
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    checker: str = "judge"
    models_dir: Path | None = None

    @property
    def model_cache_dir(self) -> Path:
        """Joined GGUF files and bf16 caches (default: <data dir>/models)."""
        return self.models_dir or self.data_dir / "models"

    def __post_init__(self) -> None:
        for name in ("data_dir", "eval_data", "models_dir"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)).expanduser())
        problems = settings_problems(self)
        if problems:  # refused here, before any collection is opened or file is read
            raise ValueError("invalid settings: " + "; ".join(problems))

    def collection_dir(self, name: str | None = None) -> Path:
        return self.data_dir / "collections" / (name or self.collection)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


def settings_problems(settings: Settings) -> list[str]:
    """What is wrong with the settings, in words (empty when nothing is); Settings refuses to exist with any.

    >>> Settings(chunk_tokens=0, device="gpu")
    Traceback (most recent call last):
    ValueError: invalid settings: chunk tokens must be at least 8 and the overlap from 0 to below them (got 0 / 32); device must be auto, cpu, cuda, cuda:N or mps (got 'gpu')
    >>> Settings(file_timeout_s=float("inf"))
    Traceback (most recent call last):
    ValueError: invalid settings: file timeout s must be a positive finite number (got inf)
    """
    problems = [] if settings.chunk_tokens >= 8 and 0 <= settings.chunk_overlap < settings.chunk_tokens else [
        f"chunk tokens must be at least 8 and the overlap from 0 to below them "
        f"(got {settings.chunk_tokens} / {settings.chunk_overlap})"]
    for name in ("top_k", "workers", "embed_batch_size", "max_new_tokens"):
        if getattr(settings, name) < 1:
            problems.append(f"{name.replace('_', ' ')} must be at least 1 (got {getattr(settings, name)})")
    for name in ("file_timeout_s", "max_file_mb", "worker_memory_mb", "max_context_tokens"):
        if not (0 < getattr(settings, name) < math.inf):  # nan fails too
            problems.append(f"{name.replace('_', ' ')} must be a positive finite number (got {getattr(settings, name)})")
    if not (0 <= settings.temperature < math.inf and 0 < settings.top_p <= 1):
        problems.append(f"need temperature >= 0 and 0 < top p <= 1 (got {settings.temperature} / {settings.top_p})")
    if settings.runner not in RUNNERS:
        problems.append(f"runner must be one of {', '.join(RUNNERS)} (got {settings.runner!r})")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", settings.device):
        problems.append(f"device must be auto, cpu, cuda, cuda:N or mps (got {settings.device!r})")
    return problems


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "RAG_DATA_DIR": ("data_dir", Path),
    "RAG_EVAL_DATA": ("eval_data", Path),
    "RAG_COLLECTION": ("collection", str),
    "RAG_EMBEDDER": ("embedder", str),
    "RAG_DEVICE": ("device", str),
    "RAG_CHUNK_TOKENS": ("chunk_tokens", int),
    "RAG_CHUNK_OVERLAP": ("chunk_overlap", int),
    "RAG_WORKERS": ("workers", int),
    "RAG_RUNNER": ("runner", str),
    "RAG_RAY_ADDRESS": ("ray_address", str),
    "RAG_FILE_TIMEOUT_S": ("file_timeout_s", float),
    "RAG_OCR": ("ocr", str),
    "RAG_MAX_FILE_MB": ("max_file_mb", float),
    "RAG_MODEL": ("model", str),
    "RAG_MODELS_DIR": ("models_dir", Path),
    "RAG_CHECKER": ("checker", str),
    "RAG_MAX_CONTEXT_TOKENS": ("max_context_tokens", int),
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``RAG_*`` environment variables, then explicit overrides (None = unset)."""
    environ = os.environ if environ is None else environ
    from_env = {field_name: _parsed(var, environ[var], cast)
                for var, (field_name, cast) in _ENV_FIELDS.items() if environ.get(var)}
    return Settings().with_overrides(**{**from_env, **{key: value for key, value in overrides.items() if value is not None}})


def _parsed(variable: str, text: str, cast: type) -> Any:
    try:
        return cast(text)
    except ValueError:
        raise ValueError(f"{variable}={text!r} is not {'an integer' if cast is int else 'a number'}") from None
