"""kill -9 an ingest at several moments: the collection must still load and answer, and the next run completes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.collection import Collection
from rag.embedders import HashEmbedder

FILES = 240


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    for n in range(FILES):
        body = " ".join(f"document{n} sentence{i} about harbour topic{(n * i) % 97}." for i in range(400))
        (folder / f"doc{n:03d}.txt").write_text(body)
    return folder


def _ingest_command(data_dir: Path, folder: Path) -> list[str]:
    return [sys.executable, "-m", "rag.cli", "--data-dir", str(data_dir), "--embedder", "hash",
            "ingest", str(folder), "--json"]


def _documents(data_dir: Path) -> int:
    database = data_dir / "collections" / "default" / "store.sqlite3"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def _kill_after(data_dir: Path, folder: Path, documents: int) -> int:
    process = subprocess.Popen(_ingest_command(data_dir, folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _documents(data_dir) < documents and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return _documents(data_dir)


def _check_consistent(data_dir: Path) -> int:
    with Collection.open_for_read(data_dir / "collections" / "default", HashEmbedder()) as collection:
        chunks = collection.store.chunk_count()
        assert len(collection.index) == chunks
        if chunks:
            hits = collection.search(HashEmbedder().embed(["document3 sentence5 harbour"])[0], 3)
            assert hits and all(hit.text for hit in hits)
        return chunks


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_nothing(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "docs")
    data_dir = tmp_path / "data"
    killed_at = [_kill_after(data_dir, folder, threshold) for threshold in (1, 40, 120)]
    assert killed_at[0] < FILES and killed_at[-1] < FILES
    _check_consistent(data_dir)
    finished = subprocess.run(_ingest_command(data_dir, folder), capture_output=True, text=True, check=True)
    report = json.loads(finished.stdout)
    assert {f["status"] for f in report["files"]} <= {"added", "unchanged"}
    assert sum(f["status"] == "unchanged" for f in report["files"]) == killed_at[-1]
    clean_dir = tmp_path / "clean"
    subprocess.run(_ingest_command(clean_dir, folder), capture_output=True, check=True)
    assert _check_consistent(data_dir) == _check_consistent(clean_dir)
