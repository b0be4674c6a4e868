from __future__ import annotations

from pathlib import Path

import pytest

from ingest.library import UploadRejected, safe_file_name, save_upload, uploads_dir
from rag.config import Settings


def test_uploads_with_clashing_cleaned_names_are_both_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = save_upload(settings, "notes (1).md", b"# First")
    second = save_upload(settings, "notes_1_.md", b"# Second")
    again = save_upload(settings, "notes (1).md", b"# First, edited")  # the same name updates its file
    assert first != second and again == first
    assert sorted(p.read_bytes() for p in uploads_dir(settings).iterdir()) == [b"# First, edited", b"# Second"]


def test_upload_names_are_confined_and_checked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert save_upload(settings, "../../escape.md", b"x").parent == uploads_dir(settings)
    with pytest.raises(UploadRejected, match="unsupported file type"):
        save_upload(settings, "tool.exe", b"x")
    with pytest.raises(UploadRejected, match="no usable file name"):
        safe_file_name("../..")


def test_a_batch_keeps_names_in_other_scripts_and_refuses_a_second_file_of_the_same_name(tmp_path: Path) -> None:
    from ingest.library import save_uploads

    saved, refused = save_uploads(Settings(data_dir=tmp_path), [("报告.pdf", b"%PDF-1"), ("a/notes.md", b"# A"),
                                                               ("b/notes.md", b"# B")])
    assert [p.suffix for p in saved] == [".pdf", ".md"] and saved[1].read_bytes() == b"# A"
    assert refused == ["b/notes.md: another file of this upload has the same name; upload it on its own"]


def test_a_file_that_cannot_be_written_fails_alone_and_leaves_no_partial_copy(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from ingest import library

    replace = os.replace

    def disk_full_for_b(source: str, target: Path) -> None:
        if Path(target).name == "b.md":
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(library.os, "replace", disk_full_for_b)
    settings = Settings(data_dir=tmp_path)
    saved, refused = library.save_uploads(settings, [("a.md", b"# A"), ("b.md", b"# B"), ("c.md", b"# C")])
    assert [p.name for p in saved] == ["a.md", "c.md"]
    assert refused == [f"b.md: could not be saved under {uploads_dir(settings)}: No space left on device"]
    assert sorted(p.name for p in uploads_dir(settings).iterdir()) == ["a.md", "c.md"]  # no hidden .partial


def test_a_collection_held_by_a_writer_is_said_to_be_written(tmp_path: Path) -> None:
    from rag.collection import Collection, Manifest, being_written

    directory = tmp_path / "collections" / "default"
    assert not being_written(directory)  # not created yet
    with Collection.open_for_write(directory, Manifest("hash-8", 8, 240, 32)):
        assert being_written(directory)
    assert not being_written(directory)
