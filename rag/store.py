"""SQLite store of documents and chunks: the source of truth for what a collection holds.

Every change is one transaction that also bumps ``generation``, so a process killed at any
moment leaves either the old or the new state of a document, never half of one. Chunk vectors
are kept here too, so the FAISS index can always be rebuilt from the store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.types import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY, content_hash TEXT NOT NULL, status TEXT NOT NULL, title TEXT NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, error TEXT, warnings TEXT NOT NULL,
    updated_at REAL NOT NULL, failed_hash TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL, doc TEXT NOT NULL,
    page INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc);
"""

_COLUMNS = "path, content_hash, status, title, pages, chunks, error, warnings, updated_at, failed_hash"  # as in _record


@dataclass(frozen=True)
class DocumentRecord:
    """A document as the store knows it: indexed with its chunk count, or failed with a reason."""

    path: str
    content_hash: str
    status: str  # indexed | failed
    title: str = ""
    pages: int = 0
    chunks: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    updated_at: float = 0.0
    failed_hash: str | None = None  # an indexed document's newer version that failed (its error is ``error``)


class Store:
    """One collection's SQLite database (WAL mode; safe against a killed process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_failed_hash()

    def close(self) -> None:
        self._db.close()

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def document(self, path: str) -> DocumentRecord | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM documents WHERE path = ?", (path,)).fetchone()
        return None if row is None else _record(row)

    def documents(self) -> list[DocumentRecord]:
        return [_record(row) for row in self._db.execute(f"SELECT {_COLUMNS} FROM documents ORDER BY path")]

    def replace_document(
        self, record: DocumentRecord, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Atomically swap a document's chunks; returns (removed row ids, new row ids)."""
        with self._transaction():
            removed = self._delete_chunks(record.path)
            added = [self._insert_chunk(chunk, vector) for chunk, vector in zip(chunks, vectors)]
            self._upsert(record)
        return removed, np.asarray(added, dtype=np.int64)

    def note_failed_update(self, path: str, error: str, content_hash: str) -> None:
        """Record that a newer version (``content_hash``) of an indexed document failed; its indexed chunks
        stay."""
        with self._transaction():
            self._db.execute("UPDATE documents SET error = ?, failed_hash = ?, updated_at = ? WHERE path = ?",
                             (error, content_hash, time.time(), path))

    def clear_error(self, path: str) -> None:
        """Forget a failed update: the file is back to its indexed version."""
        with self._transaction():
            self._db.execute("UPDATE documents SET error = NULL, failed_hash = NULL WHERE path = ?", (path,))

    def remove_document(self, path: str) -> np.ndarray:
        """Delete a document and its chunks; returns the removed row ids."""
        with self._transaction():
            removed = self._delete_chunks(path)
            self._db.execute("DELETE FROM documents WHERE path = ?", (path,))
        return removed

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All (row ids, vectors) for rebuilding the index."""
        rows = self._db.execute("SELECT row_id, vector FROM chunks ORDER BY row_id").fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, matrix.reshape(len(rows), dim)

    def chunks(self, row_ids: Sequence[int]) -> dict[int, Chunk]:
        """The chunks with these row ids (missing ids are left out)."""
        marks = ",".join("?" * len(row_ids))
        query = f"SELECT row_id, chunk_id, doc, page, start, end, text FROM chunks WHERE row_id IN ({marks})"
        return {row[0]: Chunk(*row[1:]) for row in self._db.execute(query, [int(i) for i in row_ids])}

    def all_chunks(self) -> list[tuple[int, Chunk]]:
        """(row id, chunk) of every chunk in row order, for the lexical indexes."""
        query = "SELECT row_id, chunk_id, doc, page, start, end, text FROM chunks ORDER BY row_id"
        return [(row[0], Chunk(*row[1:])) for row in self._db.execute(query)]

    def row_ids_of(self, docs: Sequence[str]) -> set[int]:
        """Row ids of the chunks of documents named by full path or by file name."""
        marks = ",".join("?" * len(docs))
        query = f"SELECT row_id, doc FROM chunks WHERE doc IN ({marks}) OR {_file_name_sql('doc')} IN ({marks})"
        return {row[0] for row in self._db.execute(query, [*docs, *docs])}

    def _delete_chunks(self, path: str) -> np.ndarray:
        rows = self._db.execute("SELECT row_id FROM chunks WHERE doc = ?", (path,)).fetchall()
        self._db.execute("DELETE FROM chunks WHERE doc = ?", (path,))
        return np.asarray([row[0] for row in rows], dtype=np.int64)

    def _insert_chunk(self, chunk: Chunk, vector: np.ndarray) -> int:
        cursor = self._db.execute(
            "INSERT INTO chunks (chunk_id, doc, page, start, end, text, vector) VALUES (?,?,?,?,?,?,?)",
            (chunk.id, chunk.doc, chunk.page, chunk.start, chunk.end, chunk.text,
             np.asarray(vector, dtype=np.float32).tobytes()),
        )
        return int(cursor.lastrowid)

    def _upsert(self, record: DocumentRecord) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO documents ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (record.path, record.content_hash, record.status, record.title, record.pages,
             record.chunks, record.error, json.dumps(list(record.warnings)),
             record.updated_at or time.time(), record.failed_hash),
        )

    def _add_failed_hash(self) -> None:
        """Stores made before ``failed_hash`` get the column (another process may add it first)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "failed_hash" not in columns:
            try:
                self._db.execute("ALTER TABLE documents ADD COLUMN failed_hash TEXT")
            except sqlite3.OperationalError as error:
                if "duplicate column" not in str(error):
                    raise

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT that also bumps the generation; ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None:
            self._db.execute("ROLLBACK")
            return
        self._db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
        self._db.execute("COMMIT")


def _file_name_sql(column: str) -> str:
    """SQL for the part of a path after its last '/'."""
    return f"replace({column}, rtrim({column}, replace({column}, '/', '')), '')"


def _record(row: tuple) -> DocumentRecord:
    path, content_hash, status, title, pages, chunks, error, warnings, updated_at, failed_hash = row
    return DocumentRecord(path, content_hash, status, title, pages, chunks, error,
                          tuple(json.loads(warnings)), updated_at, failed_hash)
