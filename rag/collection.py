"""A collection on disk: SQLite store (truth) + FAISS index (derived) + manifest (how it was built).

The index file is named by the store generation it mirrors; when the store has moved on (an ingest
was killed before it saved the index), the index is rebuilt from the vectors kept in the store.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from rag.index import FaissIndex
from rag.locking import try_lock
from rag.protocols import Embedder
from rag.store import DocumentRecord, Store
from rag.types import Chunk, Passage

FORMAT_VERSION = 1
REBUILD_AFTER_S = 120.0  # a reader rebuilds changes no writer has saved once its index is this old
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CollectionError(RuntimeError):
    """A collection cannot be used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """How a collection was built; a collection refuses an embedder or chunking it was not built with."""

    embedder: str
    dim: int
    chunk_tokens: int
    chunk_overlap: int
    format_version: int = FORMAT_VERSION
    created_at: float = field(default_factory=time.time)
    versions: dict[str, str] = field(default_factory=lambda: _versions())
    embedder_files: str = ""  # the embedder's fingerprint; "" when its name says all (or before 2026-11-28)

    def identity(self) -> tuple[str, int, int, int, int]:
        return (self.embedder, self.dim, self.chunk_tokens, self.chunk_overlap, self.format_version)


def validate_name(name: str) -> str:
    if not _NAME.match(name):
        raise CollectionError(
            f"invalid collection name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    return name


class Collection:
    """Open with :meth:`open_for_write` (ingest; holds a lock) or :meth:`open_for_read` (search)."""

    def __init__(self, directory: Path, manifest: Manifest, store: Store, lock: Any = None) -> None:
        self.directory = directory
        self.manifest = manifest
        self.store = store
        self._lock = lock
        self._index: FaissIndex | None = None
        self._index_generation = -1
        self._index_loaded_at = 0.0
        self.rebuild_after_s = REBUILD_AFTER_S

    @property
    def name(self) -> str:
        return self.directory.name

    @classmethod
    def open_for_write(cls, directory: Path, wanted: Manifest) -> Collection:
        """Create or open a collection for ingest; fails if another writer holds it or it differs."""
        validate_name(directory.name)
        directory.mkdir(parents=True, exist_ok=True)
        lock = _acquire_lock(directory)
        store = None
        try:
            store = Store(directory / "store.sqlite3")
            recorded = store.get_meta("manifest")
            if recorded is None:
                store.set_meta("manifest", json.dumps(asdict(wanted)))
                return cls(directory, wanted, store, lock)
            return cls(directory, _check_identity(directory.name, Manifest(**json.loads(recorded)), wanted), store, lock)
        except BaseException:  # a mismatched or unreadable collection: let go of the lock and the store
            if store is not None:
                store.close()
            lock.close()
            raise

    @classmethod
    def open_for_read(cls, directory: Path, embedder: Embedder | None = None) -> Collection:
        """Open an existing collection for search; the ``embedder`` searching it (its name, dimension and,
        where both sides have one, fingerprint) must be the one it was built with."""
        validate_name(directory.name)
        if not (directory / "store.sqlite3").is_file():
            raise CollectionError(f"collection {directory.name!r} does not exist; run `rag ingest` first")
        store = Store(directory / "store.sqlite3")
        recorded = store.get_meta("manifest")
        manifest = None if recorded is None else Manifest(**json.loads(recorded))
        if manifest is None:  # its first ingest has made the store but not yet recorded how it is built
            store.close()
            raise CollectionError(f"collection {directory.name!r} is being created; try again when its first "
                                  "ingest ends")
        try:
            if embedder is not None:
                _check_identity(directory.name, manifest, replace(manifest, embedder=embedder.name, dim=embedder.dim,
                                                                  embedder_files=embedder.fingerprint))
        except CollectionError:
            store.close()
            raise
        return cls(directory, manifest, store)

    @property
    def index(self) -> FaissIndex:
        if self._index is None:
            self._hold(self.store.generation, self._load_index())
        return self._index

    @property
    def index_generation(self) -> int:
        """The store generation the loaded index mirrors (loading it first); rows committed since are not in
        it, and rows removed since are passed over by :meth:`passages`."""
        _ = self.index
        return self._index_generation

    def replace_document(self, record: DocumentRecord, chunks: tuple[Chunk, ...], vectors: np.ndarray) -> int:
        """Commit a document's new chunks (or a failure) to the store, then mirror it in the index."""
        index = self.index  # load (or rebuild) before the store changes, or the change lands twice
        removed, added = self.store.replace_document(record, chunks, vectors)
        index.remove(removed)
        index.add(added, vectors)
        return len(removed)

    def remove_document(self, path: str) -> int:
        index = self.index
        removed = self.store.remove_document(path)
        index.remove(removed)
        return len(removed)

    def search(self, query_vector: np.ndarray, k: int) -> list[Passage]:
        return self.passages(self.index.search(query_vector, k))

    def passages(self, hits: list[tuple[int, float]]) -> list[Passage]:
        """Passages for (row id, score) hits, in the same order."""
        chunks = self.store.chunks([row_id for row_id, _ in hits])
        return [Passage(chunks[row_id], score) for row_id, score in hits if row_id in chunks]

    def refresh(self) -> bool:
        """Follow another process's changes to the store; True when the loaded index changed.

        A newer index that a writer saved (an ingest saves every minute and at its end) is loaded from its
        file. Changes no writer has saved yet are rebuilt from the store only once the loaded index is
        ``rebuild_after_s`` old, so searches during an ingest do not rebuild the index (and the retriever's
        BM25) after every document, and the changes of a writer killed before it saved still show.
        """
        if self._index is None or self._index_generation == self.store.generation:
            return False
        pointer = self._saved_pointer()
        saved = self._read_index(pointer[1]) if pointer and pointer[0] > self._index_generation else None
        if pointer and saved is not None:
            self._hold(pointer[0], saved)
        elif time.monotonic() - self._index_loaded_at >= self.rebuild_after_s:
            self._index = None  # rebuilt from the store on next use
        else:
            return False
        return True

    def save_index(self) -> None:
        """Persist the index as of the store's generation, then point the manifest at it."""
        generation = self.store.generation
        index_file = self.directory / f"index-{generation}.faiss"
        self.index.save(index_file)
        _write_json(self.directory / "manifest.json", {
            **asdict(self.manifest),
            "index": {"file": index_file.name, "generation": generation, "vectors": len(self.index)},
        })
        for stale in [*self.directory.glob("index-*.faiss"), *self.directory.glob("index-*.faiss.tmp")]:
            if stale != index_file:  # older indexes, and temporary files of a writer that was killed
                stale.unlink(missing_ok=True)

    def close(self) -> None:
        self.store.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _hold(self, generation: int, index: FaissIndex) -> None:
        self._index, self._index_generation, self._index_loaded_at = index, generation, time.monotonic()

    def _saved_pointer(self) -> tuple[int, Path] | None:
        """The store generation and file of the index a writer last saved; None when there is none (or its
        file is gone: a later save replaced it)."""
        pointer = _read_json(self.directory / "manifest.json").get("index", {})
        index_file = self.directory / str(pointer.get("file", ""))
        generation = pointer.get("generation")
        return (generation, index_file) if isinstance(generation, int) and index_file.is_file() else None

    def _read_index(self, index_file: Path) -> FaissIndex | None:
        try:
            return FaissIndex.load(index_file, self.manifest.dim)
        except Exception:  # a damaged (or, in a race with the writer, deleted) index file
            return None

    def _load_index(self) -> FaissIndex:
        """The saved index where it mirrors the store as it is now; otherwise rebuilt from the store."""
        pointer = self._saved_pointer()
        saved = self._read_index(pointer[1]) if pointer and pointer[0] == self.store.generation else None
        if saved is not None:
            return saved
        index = FaissIndex(self.manifest.dim)
        index.add(*self.store.vectors(self.manifest.dim))
        return index


def list_collections(data_dir: Path) -> list[str]:
    root = data_dir / "collections"
    return sorted(p.name for p in root.iterdir() if (p / "store.sqlite3").is_file()) if root.is_dir() else []


def collection_documents(data_dir: Path) -> tuple[dict[str, list[DocumentRecord]], dict[str, str]]:
    """Each collection's documents, and apart from them the collections that cannot be opened now (one whose
    first ingest is still running) with the reason: one of those does not hide the others."""
    documents: dict[str, list[DocumentRecord]] = {}
    unavailable: dict[str, str] = {}
    for name in list_collections(data_dir):
        try:
            with Collection.open_for_read(data_dir / "collections" / name) as collection:
                documents[name] = collection.store.documents()
        except CollectionError as error:
            unavailable[name] = str(error)
    return documents, unavailable


def _check_identity(name: str, recorded: Manifest, wanted: Manifest) -> Manifest:
    labels = ("embedder", "dimension", "chunk tokens", "chunk overlap", "format version")
    for label, have, want in zip(labels, recorded.identity(), wanted.identity()):
        if have != want:
            raise CollectionError(_mismatch(name, label, have, want))
    _check_embedder_files(name, recorded, wanted.embedder_files)
    return recorded


def _check_embedder_files(name: str, recorded: Manifest, fingerprint: str) -> None:
    """Same name, other files: another checkpoint saved under the same folder name, whose vectors would not
    match the index. Skipped where either side has no fingerprint (older collections record none)."""
    if recorded.embedder_files and fingerprint and recorded.embedder_files != fingerprint:
        raise CollectionError(f"collection {name!r} was built with other files of embedder {recorded.embedder!r} "
                              f"(fingerprint {recorded.embedder_files}, now {fingerprint}); use the same "
                              "model folder, or ingest into a new collection (--collection NEW_NAME)")


def _mismatch(name: str, label: str, have: object, want: object) -> str:
    return (
        f"collection {name!r} was built with {label} {have!r}, but this run uses {want!r}; "
        f"use the same settings, or ingest into a new collection (--collection NEW_NAME)"
    )


def document_path(path: Path) -> Path:
    """A named file or folder as a collection records it: a folder resolved; a file under its resolved
    folder but with its own name, a link's included, as a walk of its folder records it."""
    absolute = path.expanduser().absolute()
    return absolute.resolve() if absolute.is_dir() else absolute.parent.resolve() / absolute.name


def being_written(directory: Path) -> bool:
    """Whether a writer (an ingest in any process, a delete) holds the collection now."""
    if not (directory / ".lock").exists():
        return False
    handle = try_lock(directory / ".lock")
    if handle is not None:
        handle.close()
    return handle is None


def _acquire_lock(directory: Path) -> IO[str]:
    handle = try_lock(directory / ".lock")
    if handle is None:
        raise CollectionError(f"collection {directory.name!r} is being written by another process")
    return handle


def _write_json(path: Path, payload: dict) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w") as handle:
        json.dump(payload, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("faiss-cpu", "sentence-transformers", "langchain-text-splitters", "pypdf"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
