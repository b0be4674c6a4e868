"""FAISS inner-product index over id-mapped vectors, with atomic save/load and optional GPU search."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
GPU_MAX_K = 1024  # GPU FAISS selects at most 2048 results (1024 in some builds); a larger k searches on the CPU


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a core dependency
        raise ImportError("FAISS is missing: pip install faiss-cpu (or the 'gpu' extra)") from error
    return faiss


def gpu_count() -> int:
    """How many GPUs this FAISS build can use (0 for faiss-cpu)."""
    faiss = _faiss()
    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


class FaissIndex:
    """Exact inner-product search (vectors are normalised, so scores are cosines) keyed by row id."""

    def __init__(self, dim: int, native: Any | None = None) -> None:
        faiss = _faiss()
        self.dim = dim
        self._native = native if native is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._search_native: Any | None = None

    def __len__(self) -> int:
        return int(self._native.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._native.add_with_ids(_as_matrix(vectors, self.dim), np.asarray(ids, dtype=np.int64))
            self._search_native = None

    def remove(self, ids: np.ndarray) -> int:
        if not len(ids):
            return 0
        self._search_native = None
        return int(self._native.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int, allowed_ids: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best (row id, score) pairs for one query vector, best first, optionally among ``allowed_ids``."""
        if len(self) == 0 or k <= 0 or (allowed_ids is not None and not allowed_ids):
            return []
        if allowed_ids is None:
            searcher = self._searcher() if k <= GPU_MAX_K else self._native
            scores, ids = searcher.search(_as_matrix(query, self.dim), min(k, len(self)))
        else:
            params = _faiss().SearchParameters()
            params.sel = _faiss().IDSelectorBatch(np.fromiter(allowed_ids, dtype=np.int64))
            scores, ids = self._native.search(_as_matrix(query, self.dim), min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, fsync, then rename over ``path``."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        with open(temporary, "wb") as handle:
            handle.write(_faiss().serialize_index(self._native).tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path, dim: int) -> FaissIndex:
        native = _faiss().deserialize_index(np.fromfile(path, dtype=np.uint8))
        if native.d != dim:
            raise ValueError(f"index {path} has dimension {native.d}, expected {dim}")
        return cls(dim, native)

    def _searcher(self) -> Any:
        """The CPU index, or a GPU copy of it when FAISS has a GPU (built once per change)."""
        if self._search_native is None:
            self._search_native = _to_gpu(self._native) if gpu_count() else self._native
        return self._search_native


def _to_gpu(native: Any) -> Any:
    faiss = _faiss()
    try:
        return faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, native)
    except Exception as error:  # a GPU that cannot take this index type must not break search
        log.warning("FAISS GPU copy failed (%s); searching on CPU", error)
        return native


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    return matrix
