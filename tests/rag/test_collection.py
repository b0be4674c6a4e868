from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.collection import Collection, CollectionError, Manifest
from rag.store import DocumentRecord
from rag.types import Chunk

MANIFEST = Manifest("hash-8", 8, 240, 32)


def _add(collection: Collection, doc: str, vector: np.ndarray) -> None:
    chunk = Chunk(doc, doc, 1, 0, 4, f"text of {doc}")
    collection.replace_document(DocumentRecord(doc, "h", "indexed", chunks=1), (chunk,), vector[None, :])


def _vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=8).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_reopen_with_another_embedder_fails_clearly(tmp_path: Path) -> None:
    Collection.open_for_write(tmp_path / "c", MANIFEST).close()
    with pytest.raises(CollectionError, match="built with embedder 'hash-8'.*'other'"):
        Collection.open_for_write(tmp_path / "c", Manifest("other", 8, 240, 32))
    with pytest.raises(CollectionError, match="chunk tokens"):
        Collection.open_for_write(tmp_path / "c", Manifest("hash-8", 8, 100, 32))
    with pytest.raises(CollectionError, match="embedder"):
        Collection.open_for_read(tmp_path / "c", _Embedder("sentence-transformers:x", 8))


def test_missing_collection_and_bad_name() -> None:
    with pytest.raises(CollectionError, match="does not exist"):
        Collection.open_for_read(Path("/nonexistent/none"))
    with pytest.raises(CollectionError, match="invalid collection name"):
        Collection.open_for_write(Path("/tmp/../x/..bad/"), MANIFEST)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with Collection.open_for_write(tmp_path / "c", MANIFEST):
        with pytest.raises(CollectionError, match="another process"):
            Collection.open_for_write(tmp_path / "c", MANIFEST)
    Collection.open_for_write(tmp_path / "c", MANIFEST).close()


def test_stale_or_damaged_index_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    with Collection.open_for_write(tmp_path / "c", MANIFEST) as collection:
        _add(collection, "a", _vector(1))
        collection.save_index()
        _add(collection, "b", _vector(2))  # committed to the store, index not saved: like a kill -9
    with Collection.open_for_read(tmp_path / "c", _Embedder("hash-8", 8)) as reader:
        assert [p.doc for p in reader.search(_vector(2), 1)] == ["b"]
        assert len(reader.index) == 2
    with Collection.open_for_write(tmp_path / "c", MANIFEST) as collection:
        collection.save_index()
    index_file = next((tmp_path / "c").glob("index-*.faiss"))
    index_file.write_bytes(b"garbage")
    with Collection.open_for_read(tmp_path / "c") as reader:
        assert [p.doc for p in reader.search(_vector(1), 1)] == ["a"]


def test_save_index_keeps_only_the_current_file(tmp_path: Path) -> None:
    with Collection.open_for_write(tmp_path / "c", MANIFEST) as collection:
        (tmp_path / "c" / "index-1.faiss.tmp").write_bytes(b"half")  # left by a writer killed while saving
        for seed in range(3):
            _add(collection, f"d{seed}", _vector(seed))
            collection.save_index()
    files = list((tmp_path / "c").glob("index-*.faiss*"))
    assert len(files) == 1 and files[0].suffix == ".faiss" and (tmp_path / "c" / "manifest.json").is_file()


def test_first_change_after_a_stale_open_is_indexed_once(tmp_path: Path) -> None:
    with Collection.open_for_write(tmp_path / "c", MANIFEST) as collection:
        _add(collection, "a", _vector(1))  # never saved: the next open must rebuild
    with Collection.open_for_write(tmp_path / "c", MANIFEST) as collection:
        _add(collection, "b", _vector(2))
        assert len(collection.index) == collection.store.chunk_count() == 2


def test_a_refused_writer_lets_go_of_the_lock_while_its_error_is_still_held(tmp_path: Path) -> None:
    Collection.open_for_write(tmp_path / "c", MANIFEST).close()
    with pytest.raises(CollectionError, match="chunk tokens") as refused:
        Collection.open_for_write(tmp_path / "c", Manifest("hash-8", 8, 100, 32))
    assert refused.traceback  # the error (and its frames) still live, as in a UI that shows it
    Collection.open_for_write(tmp_path / "c", MANIFEST).close()


def test_a_collection_whose_first_ingest_has_not_recorded_its_manifest_says_so(tmp_path: Path) -> None:
    from rag.store import Store

    (tmp_path / "c").mkdir()
    Store(tmp_path / "c" / "store.sqlite3").close()
    with pytest.raises(CollectionError, match="is being created"):
        Collection.open_for_read(tmp_path / "c")


def test_another_checkpoint_under_the_same_embedder_name_is_refused(tmp_path: Path) -> None:
    built = Manifest("sentence-transformers:minilm", 8, 240, 32, embedder_files="aaaa")
    Collection.open_for_write(tmp_path / "c", built).close()
    with pytest.raises(CollectionError, match="other files of embedder 'sentence-transformers:minilm'"):
        Collection.open_for_write(tmp_path / "c", Manifest("sentence-transformers:minilm", 8, 240, 32,
                                                           embedder_files="bbbb"))
    with pytest.raises(CollectionError, match="fingerprint aaaa, now bbbb"):
        Collection.open_for_read(tmp_path / "c", _Embedder("sentence-transformers:minilm", 8, "bbbb"))
    Collection.open_for_read(tmp_path / "c", _Embedder("sentence-transformers:minilm", 8, "aaaa")).close()
    Collection.open_for_write(tmp_path / "old", MANIFEST).close()  # recorded no fingerprint (older collections)
    Collection.open_for_read(tmp_path / "old", _Embedder("hash-8", 8, "cccc")).close()


def test_a_search_with_an_embedder_of_another_dimension_is_refused(tmp_path: Path) -> None:
    Collection.open_for_write(tmp_path / "c", Manifest("sentence-transformers:minilm", 8, 240, 32)).close()
    with pytest.raises(CollectionError, match="built with dimension 8, but this run uses 12"):
        Collection.open_for_read(tmp_path / "c", _Embedder("sentence-transformers:minilm", 12))


@dataclass(frozen=True)
class _Embedder:
    """What opening a collection for search asks of its embedder."""

    name: str
    dim: int
    fingerprint: str = ""
