from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rag.index import FaissIndex
from rag.store import DocumentRecord, Store
from rag.types import Chunk


def _chunks(doc: str, count: int) -> tuple[Chunk, ...]:
    return tuple(Chunk(f"{doc}-{i}", doc, 1, i * 10, i * 10 + 5, f"text {i} of {doc}") for i in range(count))


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_store_round_trip_and_replace(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    record = DocumentRecord("a.txt", "h1", "indexed", "A", 1, 3, warnings=("w",))
    removed, added = store.replace_document(record, _chunks("a.txt", 3), _unit(3))
    assert len(removed) == 0 and len(added) == 3
    assert store.document("a.txt").warnings == ("w",) and store.document("a.txt").chunks == 3
    fetched = store.chunks(list(added))
    assert [fetched[i].text for i in added] == [c.text for c in _chunks("a.txt", 3)]
    removed_again, added_again = store.replace_document(record, _chunks("a.txt", 2), _unit(2, seed=1))
    assert sorted(removed_again) == sorted(added) and set(added_again).isdisjoint(added)
    ids, vectors = store.vectors(8)
    assert list(ids) == sorted(added_again) and np.allclose(vectors, _unit(2, seed=1))


def test_generation_counts_committed_changes_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    before = store.generation
    store.replace_document(DocumentRecord("a", "h", "indexed"), _chunks("a", 1), _unit(1))
    assert store.generation == before + 1
    unbindable = Chunk("x", "b", 1, 0, 1, object())  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        store.replace_document(DocumentRecord("b", "h", "indexed"), (*_chunks("b", 1), unbindable), _unit(2))
    assert store.generation == before + 1 and store.document("b") is None


def test_remove_document(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    _, added = store.replace_document(DocumentRecord("a", "h", "indexed"), _chunks("a", 2), _unit(2))
    assert sorted(store.remove_document("a")) == sorted(added)
    assert store.document("a") is None and store.chunk_count() == 0


def test_index_search_remove_save_load(tmp_path: Path) -> None:
    vectors = _unit(50)
    index = FaissIndex(8)
    index.add(np.arange(100, 150), vectors)
    assert index.search(vectors[7], 1)[0][0] == 107
    assert index.search(vectors[7], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    assert index.remove(np.array([107])) == 1 and len(index) == 49
    assert index.search(vectors[7], 1)[0][0] != 107
    index.save(tmp_path / "i.faiss")
    loaded = FaissIndex.load(tmp_path / "i.faiss", 8)
    assert len(loaded) == 49 and loaded.search(vectors[3], 3) == index.search(vectors[3], 3)
    with pytest.raises(ValueError, match="dimension"):
        FaissIndex.load(tmp_path / "i.faiss", 16)


def test_empty_index_returns_nothing() -> None:
    assert FaissIndex(4).search(np.ones(4, dtype=np.float32), 5) == []


def test_a_store_made_before_failed_updates_were_hashed_is_read_and_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # the documents table as it was before failed_hash
        old.execute("CREATE TABLE documents (path TEXT PRIMARY KEY, content_hash TEXT NOT NULL, status TEXT NOT "
                    "NULL, title TEXT NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL, error TEXT, "
                    "warnings TEXT NOT NULL, updated_at REAL NOT NULL)")
        old.execute("INSERT INTO documents VALUES ('a.txt', 'h1', 'indexed', 'A', 1, 2, NULL, '[\"w\"]', 5.0)")
    store, again = Store(path), Store(path)  # a second process opening it adds nothing twice
    assert store.document("a.txt") == DocumentRecord("a.txt", "h1", "indexed", "A", 1, 2, None, ("w",), 5.0)
    store.note_failed_update("a.txt", "unreadable PDF", "h2")
    assert again.document("a.txt").failed_hash == "h2" and again.document("a.txt").error == "unreadable PDF"
    again.clear_error("a.txt")
    assert store.document("a.txt").failed_hash is None and store.document("a.txt").error is None


def test_a_k_beyond_what_a_gpu_index_selects_is_searched_on_the_cpu() -> None:
    from rag.index import GPU_MAX_K

    class RefusingGpuCopy:
        def search(self, query: np.ndarray, k: int) -> None:
            raise RuntimeError(f"GPU index only supports k <= {GPU_MAX_K} (requested {k})")

    index = FaissIndex(8)
    index.add(np.arange(3), _unit(3))
    index._search_native = RefusingGpuCopy()  # as a GPU copy of the index would behave
    assert len(index.search(_unit(1, seed=1)[0], GPU_MAX_K + 1)) == 3
    with pytest.raises(RuntimeError, match="GPU index"):
        index.search(_unit(1, seed=1)[0], 2)  # a usual k still goes to the GPU copy
