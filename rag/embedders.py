"""Embedders: sentence-transformers for real use, a deterministic hash embedder for tests."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rag.models import folder_fingerprint, resolve_embedder
from rag.protocols import Embedder, TokenCounter

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: the hash embedder's tokens.

    >>> word_tokens("Net sales: $82,959.")
    ['net', 'sales', ':', '$', '82', ',', '959', '.']
    """
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class WordCounter:
    """Counts :func:`word_tokens`; picklable and free to build."""

    def __call__(self, text: str) -> int:
        return len(word_tokens(text))


_TOKENIZERS: dict[str, Any] = {}


@dataclass(frozen=True)
class HFTokenCounter:
    """Counts a Hugging Face tokenizer's tokens (no special tokens); loads once per process."""

    location: str

    def __call__(self, text: str) -> int:
        tokenizer = _TOKENIZERS.get(self.location)
        if tokenizer is None:
            from transformers import AutoTokenizer

            quiet_transformers()
            tokenizer = _TOKENIZERS[self.location] = AutoTokenizer.from_pretrained(self.location)
        return len(tokenizer.tokenize(text))


@dataclass
class HashEmbedder:
    """Deterministic bag-of-words hashing into ``dim`` signed buckets; for tests and demos."""

    dimensions: int = 256

    @property
    def name(self) -> str:
        return f"hash-{self.dimensions}"

    @property
    def dim(self) -> int:
        return self.dimensions

    @property
    def fingerprint(self) -> str:
        return ""  # the name says everything

    def warm_up(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in word_tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimensions
                vectors[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return _normalise(vectors)

    def token_counter(self) -> TokenCounter:
        return WordCounter()


_LOADING = threading.Lock()


@dataclass
class SentenceTransformerEmbedder:
    """A sentence-transformers model (default: the packaged all-MiniLM-L6-v2), loaded lazily."""

    spec: str = "packaged"
    device: str = "auto"
    batch_size: int = 32
    _model: Any = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"sentence-transformers:{resolve_embedder(self.spec).name}"

    @property
    def fingerprint(self) -> str:
        """A local folder's files (the packaged model's too: a folder of the same name may hold another
        checkpoint); "" for hub ids."""
        source = resolve_embedder(self.spec)
        return folder_fingerprint(Path(source.location)) if source.is_local else ""

    @property
    def dim(self) -> int:
        known = _pooling_dimension(resolve_embedder(self.spec).location)
        return known if known is not None else self._loaded().get_embedding_dimension()

    def warm_up(self) -> None:
        self._loaded()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_counter(self) -> TokenCounter:
        return HFTokenCounter(resolve_embedder(self.spec).location)

    def _loaded(self) -> Any:
        with _LOADING:  # pipelines of several collections share one embedder across UI threads
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer

        quiet_transformers()
        return SentenceTransformer(resolve_embedder(self.spec).location, device=resolve_device(self.device))


def quiet_transformers() -> None:
    """No per-call length warnings (chunking measures long pages on purpose) and no load bars."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def resolve_device(device: str) -> str:
    """'auto' becomes 'cuda' when a GPU is usable, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def make_embedder(spec: str, device: str = "auto", batch_size: int = 32) -> Embedder:
    """'hash' or 'hash-N' for the test embedder; anything else is a sentence-transformers model."""
    if spec == "hash" or spec.startswith("hash-"):
        return HashEmbedder(int(spec.split("-", 1)[1]) if "-" in spec else 256)
    return SentenceTransformerEmbedder(spec, device, batch_size)


def _pooling_dimension(location: str) -> int | None:
    """The output dimension from a local model's pooling config, without loading the model, where the config
    alone decides it: one pooling mode and no module that reshapes (a Dense layer); else None (load and ask)."""
    folder = Path(location)
    config = folder / "1_Pooling" / "config.json"
    if not config.is_file() or not _keeps_pooled_shape(folder):
        return None
    pooling = json.loads(config.read_text())
    # sentence-transformers before 6 wrote word_embedding_dimension; 6.x writes embedding_dimension
    known = pooling.get("embedding_dimension", pooling.get("word_embedding_dimension"))
    return int(known) if known is not None and _pooling_modes(pooling) == 1 else None


def _pooling_modes(pooling: dict[str, Any]) -> int:
    """How many pooled vectors are concatenated: 6.x names the modes in pooling_mode, older versions flag each."""
    if "pooling_mode" in pooling:
        return 1 if isinstance(pooling["pooling_mode"], str) else len(pooling["pooling_mode"])
    return max(1, sum(1 for key, on in pooling.items() if key.startswith("pooling_mode_") and on is True))


def _keeps_pooled_shape(folder: Path) -> bool:
    """Whether modules.json lists only the encoder, the pooling and normalisation."""
    modules = folder / "modules.json"
    if not modules.is_file():
        return False
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in json.loads(modules.read_text())]
    return all(kind in ("Transformer", "Pooling", "Normalize") for kind in kinds)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
