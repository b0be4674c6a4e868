from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from ingest.pipeline import IngestOptions, IngestUsageError, discover, ingest_paths
from ingest.runners import SerialRunner
from rag.config import Settings
from rag.embedders import HashEmbedder
from rag.pdfwrite import write_text_pdf
from rag.retrieve import Retriever

QUIET = IngestOptions(progress=False)


@dataclass
class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting how many texts it embedded."""

    embedded: list[str] = field(default_factory=list)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed(texts)


def _ingest(paths: list[Path], settings: Settings, embedder: HashEmbedder | None = None, **options: bool):
    return ingest_paths(paths, settings, embedder=embedder or HashEmbedder(), runner=SerialRunner(),
                        options=IngestOptions(progress=False, **options))


def _statuses(report) -> dict[str, str]:
    return {Path(o.path).name: o.status for o in report.files}


def test_sample_documents_are_indexed_and_searchable(settings: Settings, sample_copy: Path) -> None:
    report = _ingest([sample_copy], settings)
    assert set(_statuses(report).values()) == {"added"} and len(report.files) == 3
    assert report.chunks_added == sum(o.chunks for o in report.files) > 0
    retriever = Retriever.open(settings, HashEmbedder())
    top = retriever.search("main channel dredging deepened metres", 3)[0]
    assert top.doc.endswith("valmara-port-annual-report-2025.pdf") and top.page == 2
    assert "16.5 metres" in top.text


def test_rerun_adds_nothing_and_embeds_nothing(settings: Settings, sample_copy: Path) -> None:
    _ingest([sample_copy], settings)
    embedder = CountingEmbedder()
    again = _ingest([sample_copy], settings, embedder)
    assert set(_statuses(again).values()) == {"unchanged"}
    assert again.chunks_added == 0 and again.chunks_removed == 0 and embedder.embedded == []


def test_force_reads_unchanged_files_again(settings: Settings, sample_copy: Path) -> None:
    first = _ingest([sample_copy], settings)
    embedder = CountingEmbedder()
    forced = _ingest([sample_copy], settings, embedder, force=True)
    assert set(_statuses(forced).values()) == {"updated"} and len(embedder.embedded) == first.chunks_added
    assert forced.chunks_added == forced.chunks_removed == first.chunks_added


def test_changed_file_replaces_its_chunks(settings: Settings, sample_copy: Path) -> None:
    first = _ingest([sample_copy], settings)
    markdown = sample_copy / "helios-h2-battery-faq.md"
    old_chunks = next(o.chunks for o in first.files if o.path == str(markdown))
    markdown.write_text("# Helios H2\n\nThe Helios H2 now stores 15 kWh of usable energy.")
    second = _ingest([sample_copy], settings)
    assert _statuses(second)["helios-h2-battery-faq.md"] == "updated"
    assert second.chunks_removed == old_chunks and second.chunks_added == 1
    retriever = Retriever.open(settings, HashEmbedder())
    texts = [p.text for p in retriever.search("Helios H2 stores kWh usable energy", 10)]
    assert any("15 kWh" in text for text in texts) and not any("13.5 kWh" in text for text in texts)


def test_prune_removes_only_files_gone_from_the_given_folder(settings: Settings, sample_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("A note that lives in another folder.")
    _ingest([sample_copy, elsewhere], settings)
    (sample_copy / "brindlewood-library.html").unlink()
    without_prune = _ingest([sample_copy], settings)
    assert "brindlewood-library.html" not in _statuses(without_prune)
    pruned = _ingest([sample_copy], settings, prune=True)
    assert _statuses(pruned)["brindlewood-library.html"] == "removed" and pruned.chunks_removed > 0
    documents = {Path(r.path).name for r in Retriever.open(settings, HashEmbedder()).collection.store.documents()}
    assert documents == {"helios-h2-battery-faq.md", "valmara-port-annual-report-2025.pdf", "keep.txt"}


def test_a_file_deleted_during_a_pruning_ingest_gets_one_status(settings: Settings, sample_copy: Path) -> None:
    html = sample_copy / "brindlewood-library.html"
    _ingest([sample_copy], settings)
    html.write_text("<p>The library closed in 2026.</p>")
    delete = CountingRunner(before=lambda path: path.unlink() if path == html else None)
    report = ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=delete,
                          options=IngestOptions(progress=False, prune=True))
    assert [o.status for o in report.files if o.path == str(html)] == ["removed"], report.files


def test_a_prune_of_a_folder_that_holds_no_file_now_keeps_its_documents(settings: Settings, tmp_path: Path) -> None:
    share = tmp_path / "mnt" / "share"
    share.mkdir(parents=True)
    (share / "a.txt").write_text("The harbour opened in 1901.")
    (share / "b.txt").write_text("The lighthouse is 40 metres tall.")
    _ingest([share], settings)
    for name in ("a.txt", "b.txt"):
        (share / name).unlink()  # the share is unmounted: its mount point is an empty folder
    report = _ingest([share], settings, prune=True)
    assert [(o.path, o.status) for o in report.files] == [(str(share), "skipped")] and "2 indexed documents" in report.files[0].error
    assert len(Retriever.open(settings, HashEmbedder()).collection.store.documents()) == 2
    (tmp_path / "mnt" / "notes.txt").write_text("A note beside the mount point.")  # the share, now a subfolder
    nested = _ingest([tmp_path / "mnt"], settings, prune=True).files
    assert [(Path(o.path).name, o.status) for o in nested] == [("notes.txt", "added"), ("share", "skipped")]
    (share / "c.txt").write_text("A file is back.")  # a folder with files is pruned as before
    assert {Path(o.path).name: o.status for o in _ingest([share], settings, prune=True).files} == \
        {"a.txt": "removed", "b.txt": "removed", "c.txt": "added"}


def test_a_hidden_file_named_on_its_own_is_ingested_and_survives_a_prune_of_its_folder(
        settings: Settings, tmp_path: Path) -> None:
    (tmp_path / ".drafts").mkdir()
    (tmp_path / ".drafts" / "plan.md").write_text("# Plan\n\nThe harbour opens in 1901.")
    assert _statuses(_ingest([tmp_path / ".drafts" / "plan.md"], settings)) == {"plan.md": "added"}
    pruned = _ingest([tmp_path], settings, prune=True)  # the folder's walk skips .drafts: not a reason to delete
    assert "plan.md" not in _statuses(pruned) and pruned.chunks_removed == 0


def test_a_prune_keeps_documents_in_a_folder_it_cannot_read(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    import os

    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "plan.md").write_text("# Plan\n\nThe harbour opens in 1901.")
    _ingest([tmp_path], settings)
    real_stat, real_scandir, private = os.stat, os.scandir, str(tmp_path / "private")
    def denied(real: Any) -> Any:  # what a chmod 000 folder is to a user (tests run as root)
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if str(path).startswith(private + os.sep) or (real is real_scandir and str(path) == private):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)
        return call
    monkeypatch.setattr(os, "stat", denied(real_stat))
    monkeypatch.setattr(os, "scandir", denied(real_scandir))
    pruned = _ingest([tmp_path], settings, prune=True)  # used to end in a PermissionError traceback
    assert _statuses(pruned).get("plan.md") != "removed" and pruned.chunks_removed == 0
    monkeypatch.undo()
    documents = Retriever.open(settings, HashEmbedder()).collection.store.documents()
    assert [Path(r.path).name for r in documents] == ["plan.md"] and documents[0].status == "indexed"


def test_a_file_name_that_is_not_utf8_fails_alone(settings: Settings, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "zip-extracted"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as latin1_named:  # as old zips and shares hold
        latin1_named.write(b"The cafe opens at nine.")
    (folder / "menu.txt").write_text("The menu lists soups.")
    report = _ingest([folder], settings)
    outcomes = {Path(o.path).name: o for o in report.files}
    assert outcomes["menu.txt"].status == "added"
    assert outcomes["caf\ufffd.txt"].status == "failed" and "not valid UTF-8" in outcomes["caf\ufffd.txt"].error


def test_text_the_embedder_refuses_fails_its_file_alone(settings: Settings, tmp_path: Path) -> None:
    @dataclass
    class RefusingEmbedder(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if any("poison" in text for text in texts):
                raise ValueError("the tokenizer cannot encode this text")
            return super().embed(texts)

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bad.txt").write_text("A poison pill for the tokenizer.")
    (tmp_path / "docs" / "good.txt").write_text("The menu lists soups.")
    report = _ingest([tmp_path / "docs"], settings, RefusingEmbedder())
    outcomes = {Path(o.path).name: o for o in report.files}
    assert outcomes["good.txt"].status == "added" and outcomes["bad.txt"].status == "failed"
    assert "could not embed or store its text: ValueError: the tokenizer cannot" in outcomes["bad.txt"].error
    assert [p.doc for p in Retriever.open(settings, HashEmbedder()).search("soups", 3)] == [str(tmp_path / "docs" / "good.txt")]


def test_lone_surrogates_from_a_pdf_text_layer_are_stored_as_valid_text(settings: Settings, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PageObject

    original = PageObject.extract_text
    monkeypatch.setattr(PageObject, "extract_text",  # what pypdf gives for a font with a broken character map
                        lambda page, *args, **kwargs: original(page, *args, **kwargs) + " \ud83d\ude00 \udc00")
    write_text_pdf(tmp_path / "odd.pdf", ["The quay is 400 metres long."])
    report = _ingest([tmp_path / "odd.pdf"], settings)
    assert report.files[0].status == "added"
    text = Retriever.open(settings, HashEmbedder()).search("quay metres", 1)[0].text
    assert text.endswith("\U0001f600 \ufffd")


def test_an_empty_text_file_fails_as_empty_not_as_a_scan(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "empty.md").write_text("  \n\n")
    outcome = _ingest([tmp_path / "docs"], settings.with_overrides(ocr="off")).files[0]
    assert outcome.status == "failed" and outcome.error == "the file holds no text"  # not "scanned (OCR is off)"


def test_broken_and_unknown_files_are_listed_and_the_batch_goes_on(settings: Settings, sample_copy: Path) -> None:
    (sample_copy / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (sample_copy / "slides.pptx").write_bytes(b"PK\x03\x04")
    (sample_copy / ".hidden.txt").write_text("dotfiles are ignored")
    report = _ingest([sample_copy], settings)
    outcomes = {Path(o.path).name: o for o in report.files}
    assert outcomes["broken.pdf"].status == "failed" and "PDF" in outcomes["broken.pdf"].error
    assert outcomes["slides.pptx"].status == "skipped" and "unsupported" in outcomes["slides.pptx"].error
    assert ".hidden.txt" not in outcomes
    assert sum(o.status == "added" for o in report.files) == 3
    cached = _ingest([sample_copy], settings)
    assert {Path(o.path).name: o.status for o in cached.files}["broken.pdf"] == "failed"


def test_a_broken_update_keeps_the_previous_version(settings: Settings, sample_copy: Path) -> None:
    pdf = sample_copy / "valmara-port-annual-report-2025.pdf"
    original = pdf.read_bytes()
    _ingest([sample_copy], settings)
    pdf.write_bytes(b"%PDF-1.4 truncated")
    report = _ingest([sample_copy], settings)
    outcome = next(o for o in report.files if o.path == str(pdf))
    assert outcome.status == "failed" and "previously indexed version is kept" in outcome.error
    retriever = Retriever.open(settings, HashEmbedder())
    assert retriever.search("main channel dredging depth", 1)[0].doc == str(pdf)
    assert retriever.collection.store.document(str(pdf)).error  # the failed update is on record
    pdf.write_bytes(original)  # the indexed version is back
    assert _statuses(_ingest([sample_copy], settings))[pdf.name] == "unchanged"
    assert retriever.collection.store.document(str(pdf)).error is None  # and the failure is forgotten


def test_a_failed_update_is_not_parsed_again_until_retry_failed(settings: Settings, sample_copy: Path) -> None:
    pdf = sample_copy / "valmara-port-annual-report-2025.pdf"
    _ingest([sample_copy], settings)
    pdf.write_bytes(b"%PDF-1.4 truncated")
    _ingest([sample_copy], settings)
    runner = CountingRunner()
    again = ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=runner, options=QUIET)
    outcome = next(o for o in again.files if o.path == str(pdf))
    assert runner.parsed == [] and outcome.status == "failed", outcome
    assert outcome.error.endswith("the previously indexed version is kept (unchanged; --retry-failed)")
    retried = ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=runner,
                           options=IngestOptions(progress=False, retry_failed=True))
    assert runner.parsed == [str(pdf)] and _statuses(retried)[pdf.name] == "failed"


@dataclass
class CountingRunner(SerialRunner):
    """The serial runner, noting the files it parsed; ``before`` runs ahead of each."""

    parsed: list[str] = field(default_factory=list)
    before: Any = None

    def map_unordered(self, step: Any, tasks: Sequence[Any]) -> Any:
        for task in tasks:
            self.parsed.append(task.path)
            if self.before:
                self.before(Path(task.path))
            yield from super().map_unordered(step, [task])


def test_a_file_changed_during_the_ingest_is_recorded_as_parsed(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "a.txt"
    note.write_text("The harbour opened in 1901.")
    edit = CountingRunner(before=lambda path: path.write_text("The harbour opened in 1902."))
    ingest_paths([folder], settings, embedder=HashEmbedder(), runner=edit, options=QUIET)
    assert "1902" in Retriever.open(settings, HashEmbedder()).search("harbour opened", 1)[0].text
    assert _statuses(_ingest([folder], settings)) == {"a.txt": "unchanged"}  # its record is the text indexed
    note.write_text("The harbour opened in 1903.")  # planned at 27 bytes, 2,800 when it is read
    grow = CountingRunner(before=lambda path: path.write_text("The harbour opened in 1901. " * 100))
    report = ingest_paths([folder], settings.with_overrides(max_file_mb=0.001), embedder=HashEmbedder(),
                          runner=grow, options=QUIET)
    assert report.files[0].status == "failed" and "grew past the size limit" in report.files[0].error, report


def test_image_only_pages_are_reported(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    write_text_pdf(folder / "mixed.pdf", ["text on page one", "", ""])
    write_text_pdf(folder / "blank.pdf", ["", ""])
    outcomes = {Path(o.path).name: o for o in _ingest([folder], settings).files}
    assert outcomes["mixed.pdf"].status == "added" and "page(s) 2-3" in outcomes["mixed.pdf"].warnings[0]
    assert outcomes["blank.pdf"].status == "failed" and "no extractable text" in outcomes["blank.pdf"].error


def test_oversized_files_are_refused_without_being_read(settings: Settings, sample_copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def never(path: Path) -> str:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr("ingest.pipeline.file_digest", never)
    report = _ingest([sample_copy], settings.with_overrides(max_file_mb=0.0001))
    assert {o.status for o in report.files} == {"failed"}
    assert all("limit" in o.error for o in report.files) and report.nothing_readable


def test_a_grown_file_over_the_limit_keeps_its_indexed_version(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The harbour opened in 1901.")
    _ingest([tmp_path], settings)
    (tmp_path / "a.txt").write_text("The harbour opened in 1901. " * 100)
    outcome = _ingest([tmp_path], settings.with_overrides(max_file_mb=0.001)).files[0]
    assert outcome.status == "failed" and "previously indexed version is kept" in outcome.error
    assert "1901" in Retriever.open(settings, HashEmbedder()).search("harbour opened", 1)[0].text


def test_an_unreadable_file_fails_alone_and_the_batch_goes_on(settings: Settings, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import pipeline

    (tmp_path / "locked.txt").write_text("secret")
    (tmp_path / "open.txt").write_text("The harbour opened in 1901.")
    digest = pipeline.file_digest

    def guarded(path: Path) -> str:
        if path.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return digest(path)

    monkeypatch.setattr(pipeline, "file_digest", guarded)
    outcomes = {Path(o.path).name: o for o in _ingest([tmp_path], settings).files}
    assert outcomes["open.txt"].status == "added"
    assert outcomes["locked.txt"].status == "failed" and outcomes["locked.txt"].error == "cannot read the file: Permission denied"


def test_missing_path_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IngestUsageError, match="no such file"):
        _ingest([tmp_path / "nope"], settings)


def test_discover_sorts_supported_and_unsupported(tmp_path: Path) -> None:
    for name in ("b.md", "a.PDF", "c.bin", "sub/d.htm", ".git/e.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    discovered = discover([tmp_path])
    assert [p.name for p in discovered.files] == ["a.PDF", "b.md", "d.htm"]
    assert {p.name: why for p, why in discovered.skipped.items()} == {"c.bin": "unsupported file type '.bin'"}


def test_a_file_under_two_names_is_ingested_once_and_a_linked_folder_is_reported(settings: Settings,
                                                                                 tmp_path: Path) -> None:
    docs, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    docs.mkdir(), elsewhere.mkdir()
    (docs / "a.txt").write_text("The harbour opened in 1901.")
    (docs / "b-alias.txt").symlink_to(docs / "a.txt")
    (elsewhere / "c.txt").write_text("The lighthouse is 40 metres tall.")
    (docs / "linked").symlink_to(elsewhere, target_is_directory=True)
    (docs / "loop").symlink_to(docs, target_is_directory=True)
    outcomes = {Path(o.path).name: o for o in _ingest([docs], settings).files}
    assert outcomes["a.txt"].status == "added" and outcomes["b-alias.txt"].status == "skipped"
    assert outcomes["b-alias.txt"].error == f"the same file as {docs / 'a.txt'}"
    assert outcomes["linked"].status == "skipped" and "not followed" in outcomes["linked"].error
    assert "loop" not in outcomes and len(outcomes) == 3  # a link to a named root: its files are all there
    (docs / "0-first-alias.txt").symlink_to(docs / "a.txt")  # sorts first, but a.txt is the name indexed
    (docs / "b-alias.txt").unlink()
    again = {Path(o.path).name: o for o in _ingest([docs, elsewhere], settings, prune=True).files}
    assert again["a.txt"].status == "unchanged" and again["0-first-alias.txt"].status == "skipped"
    assert again["c.txt"].status == "added" and "linked" not in again  # its target is named: nothing to report


def test_a_document_stored_under_a_links_name_is_re_ingested_under_it(settings: Settings, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "v3.txt").write_text("The harbour opened in 1901.")
    (docs / "latest.txt").symlink_to(docs / "v3.txt")  # sorts first: the name the folder walk indexes
    assert _statuses(_ingest([docs], settings)) == {"latest.txt": "added", "v3.txt": "skipped"}
    again = _ingest([docs / "latest.txt"], settings, force=True)  # the Library page's Re-ingest
    assert _statuses(again) == {"latest.txt": "updated"}
    stored = Retriever.open(settings, HashEmbedder()).collection.store.documents()
    assert [Path(record.path).name for record in stored] == ["latest.txt"]


def test_a_prune_removes_a_document_that_is_now_a_second_name(settings: Settings, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The harbour opened in 1901.")
    _ingest([docs / "a.txt"], settings)
    (docs / "b.txt").hardlink_to(docs / "a.txt")
    _ingest([docs / "b.txt"], settings)  # named alone: indexed a second time (as before names were compared)
    report = {Path(o.path).name: o.status for o in _ingest([docs], settings, prune=True).files}
    assert report == {"a.txt": "unchanged", "b.txt": "removed"}


def test_an_entry_whose_type_cannot_be_read_is_reported_as_failed(settings: Settings, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "open.txt").write_text("The harbour opened in 1901.")
    (docs / "private.txt").write_text("behind a folder without permission")
    stat = Path.stat

    def refused(path: Path, *args: Any, **kwargs: Any) -> Any:  # as for a link into a folder it may not search
        if path.name == "private.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", refused)  # Path.is_file raises it too (Python 3.11 passes EACCES on)
    report = _ingest([docs], settings)
    assert _statuses(report) == {"open.txt": "added", "private.txt": "failed"}
    assert "Permission denied" in next(o.error for o in report.files if o.status == "failed")


def test_an_unknown_or_missing_runner_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ingest.pipeline import make_runner
    from ingest.runners import RunnerUnavailable
    from rag.config import load_settings

    with pytest.raises(ValueError, match="runner must be one of local, ray \\(got 'spark'\\)"):
        load_settings({"RAG_RUNNER": "spark"}, data_dir=tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the ray extra were not installed
    with pytest.raises(RunnerUnavailable, match=r"pip install 'rag-local\[ray\]'"):
        make_runner(load_settings({"RAG_RUNNER": "ray"}, data_dir=tmp_path))


def test_an_embedder_failure_that_is_not_the_files_stops_the_run(settings: Settings, tmp_path: Path) -> None:
    @dataclass
    class OutOfMemory(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("CUDA out of memory")

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("The harbour opened in 1901.")
    with pytest.raises(RuntimeError, match="CUDA out of memory"):  # not every file marked failed, one by one
        _ingest([tmp_path / "docs"], settings, OutOfMemory())
