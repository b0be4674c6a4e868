from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main


def _run(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), "--embedder", "hash", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ingest_json_then_search_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    (sample_copy / "notes.xyz").write_text("unknown type")
    code, out, _ = _run(capsys, tmp_path, "ingest", str(sample_copy), "--json", "--collection", "demo")
    report = json.loads(out)
    assert code == 0 and set(report) >= {"files", "chunks_added", "chunks_removed", "seconds"}
    statuses = {Path(f["path"]).name: f["status"] for f in report["files"]}
    assert statuses["notes.xyz"] == "skipped" and list(statuses.values()).count("added") == 3
    assert all(set(f) >= {"path", "status", "chunks", "error"} for f in report["files"])
    code, out, _ = _run(capsys, tmp_path, "search", "Korsgaard map collection maps", "--collection", "demo", "-k", "2", "--json")
    passages = json.loads(out)["passages"]
    assert code == 0 and len(passages) == 2
    assert set(passages[0]) == {"doc", "page", "score", "text"} and "3,400" in passages[0]["text"]


def test_human_output_has_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    code, out, _ = _run(capsys, tmp_path, "collections")
    assert code == 0 and "no collections under" in out and "rag ingest PATH" in out
    code, out, _ = _run(capsys, tmp_path, "ingest", str(sample_copy))
    assert code == 0 and "3 added" in out
    code, out, _ = _run(capsys, tmp_path, "ingest", str(sample_copy))
    assert "3 unchanged" in out and "+0 / -0 chunks" in out
    code, out, _ = _run(capsys, tmp_path, "collections")
    assert "default: 3 documents" in out
    from rag.store import Store

    (tmp_path / "collections" / "fresh").mkdir()
    Store(tmp_path / "collections" / "fresh" / "store.sqlite3").close()  # its first ingest has not recorded a manifest
    code, out, _ = _run(capsys, tmp_path, "collections")
    assert code == 0 and "default: 3 documents" in out and "fresh: unavailable (collection 'fresh' is being created" in out
    listing = json.loads(_run(capsys, tmp_path, "collections", "--json")[1])
    assert len(listing["collections"]["default"]) == 3 and "being created" in listing["unavailable"]["fresh"]


def test_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _run(capsys, tmp_path, "ingest", str(tmp_path / "missing"))[0] == 2
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.pdf").write_bytes(b"garbage")
    code, out, _ = _run(capsys, tmp_path, "ingest", str(broken), "--json")
    assert code == 1 and json.loads(out)["files"][0]["status"] == "failed"
    code, _, err = _run(capsys, tmp_path, "search", "anything", "--collection", "nope")
    assert code == 2 and "does not exist" in err
    with pytest.raises(SystemExit) as usage:
        main(["ingest"])
    assert usage.value.code == 2
