from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from ingest.runners import SerialRunner
from rag.config import Settings
from rag.embedders import HashEmbedder
from rag.retrieve import MODES, Retriever


@pytest.fixture
def retriever(settings: Settings, sample_copy: Path):
    (sample_copy / "dup.txt").write_text((sample_copy / "helios-h2-battery-faq.md").read_text())
    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    opened = Retriever.open(settings, HashEmbedder())
    yield opened
    opened.close()


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_finds_the_page(retriever: Retriever, mode: str) -> None:
    top = retriever.search("dredging deepened the main channel to metres", 3, mode=mode)[0]
    assert Path(top.doc).name == "valmara-port-annual-report-2025.pdf" and top.page == 2


def test_k_above_the_candidates_is_not_capped(retriever: Retriever) -> None:
    retriever.candidates = 2  # as a -k 80 is above the default 50
    assert len(retriever.search("the port channel library battery energy", 4, mode="dense")) == 4
    assert len(retriever.search("the port channel library battery energy", 4, mode="bm25")) == 4
    assert len(retriever.search("the port channel library battery energy", 4, mode="hybrid-chunks")) == 4


def test_bm25_matches_stems(retriever: Retriever) -> None:
    hits = retriever.search("crane commissioning", 2, mode="bm25")
    assert hits and "cranes were commissioned" in hits[0].text


def test_near_duplicate_documents_are_returned_once(retriever: Retriever) -> None:
    texts = [p.text for p in retriever.search("Helios H2 warranty cycles", 5)]
    assert sum("8,000 full charge cycles" in text for text in texts) == 1


def test_document_filter(retriever: Retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    hits = retriever.search("when was it founded", 5, docs=["brindlewood-library.html"])
    assert hits and {Path(p.doc).name for p in hits} == {"brindlewood-library.html"}
    with pytest.raises(ValueError, match="no indexed document in collection 'default' matches no-such-doc.pdf"):
        retriever.search("anything", 5, docs=["brindlewood-library.html", "no-such-doc.pdf"])
    monkeypatch.chdir(Path(hits[0].doc).parent.parent)  # a path relative to where the command runs
    relative = f"./{Path(hits[0].doc).parent.name}/brindlewood-library.html"
    assert retriever.search("when was it founded", 5, docs=[relative]) == hits


def test_bad_queries(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="empty"):
        retriever.search("  ")
    with pytest.raises(ValueError, match="mode"):
        retriever.search("x", mode="magic")


def test_sees_a_later_ingest(retriever: Retriever, settings: Settings, tmp_path: Path) -> None:
    assert retriever.search("zeppelin hangar", 1, mode="bm25") == []
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "z.txt").write_text("The zeppelin hangar at Valmara is 240 metres long.")
    ingest_paths([extra], settings, embedder=HashEmbedder(), runner=SerialRunner(), options=IngestOptions(progress=False))
    for mode in MODES:
        assert "zeppelin" in retriever.search("zeppelin hangar", 1, mode=mode)[0].text
    assert "z.txt" in {Path(doc).name for doc in retriever.document_index().documents}


def test_searches_during_an_ingest_rebuild_nothing_until_a_save_or_the_rebuild_age(
        retriever: Retriever, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.collection import Collection
    from rag.lexical import LexicalIndex

    retriever.search("zeppelin hangar", 1)  # every index is built
    builds = []
    build = LexicalIndex.build
    monkeypatch.setattr(LexicalIndex, "build", classmethod(lambda cls, rows: builds.append(1) or build(rows)))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "z.txt").write_text("The zeppelin hangar at Valmara is 240 metres long.")
    with monkeypatch.context() as unsaved:  # an ingest still running (or killed) before it saved its index
        unsaved.setattr(Collection, "save_index", lambda self: None)
        ingest_paths([extra], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                     options=IngestOptions(progress=False))
    for mode in MODES:
        assert all("zeppelin" not in p.text for p in retriever.search("zeppelin hangar", 3, mode=mode))
    assert builds == []
    retriever.collection.rebuild_after_s = 0.0  # the unsaved change is now old enough to rebuild
    assert "zeppelin" in retriever.search("zeppelin hangar", 1, mode="bm25")[0].text
    assert "zeppelin" in retriever.search("zeppelin hangar", 1, mode="dense")[0].text and len(builds) == 1


def test_each_mode_builds_only_the_lexical_indexes_it_searches(settings: Settings, retriever: Retriever,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.lexical import DocumentIndex, LexicalIndex

    def refuse(cls, rows):
        raise AssertionError("built an index this mode does not search")

    fresh = Retriever.open(settings, HashEmbedder())
    monkeypatch.setattr(LexicalIndex, "build", classmethod(refuse))
    assert fresh.search("main channel dredging", 2, mode="dense")
    monkeypatch.undo()
    monkeypatch.setattr(DocumentIndex, "build", classmethod(refuse))
    assert fresh.search("main channel dredging", 2, mode="hybrid-chunks") and fresh.search("dredging", 2, mode="bm25")
    fresh.close()


def test_an_empty_collection_finds_nothing_in_any_mode() -> None:
    from rag.lexical import LexicalIndex

    assert LexicalIndex.build([]).search("channel depth", 3) == []  # every document deleted: no vocabulary


def filings(folder: Path) -> Path:
    """Acme's report names Acme once per section; four other reports answer the question's words better."""
    folder.mkdir()
    filler = "Revenue, costs, taxes and cash flows are discussed in the sections that follow in some detail. "
    sections = [f"Acme section {n}. " + filler * 3 for n in range(6)]
    sections.append("Buyback: the board bought back 5 million of its own stock for cash. " + filler)
    (folder / "acme-q3.txt").write_text("\n\n".join(sections))
    for number, name in enumerate(("zenith", "orbit", "delta", "nova"), start=7):
        buyback = f"Shares repurchased: the company repurchased {number} million shares; how many shares it repurchases next is open. "
        (folder / f"{name}-q3.txt").write_text(f"{name.title()} report. " + filler * 18 + "\n\n" + buyback * 2)
    return folder


def test_a_question_naming_a_document_reaches_it_even_when_its_chunks_rank_low(settings: Settings, tmp_path: Path) -> None:
    small_chunks = settings.with_overrides(chunk_tokens=48, chunk_overlap=0)
    ingest_paths([filings(tmp_path / "filings")], small_chunks, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    retriever = Retriever.open(small_chunks, HashEmbedder())
    retriever.best_documents = 3  # of the 5 (with 5 of 5, every document would get the same lift)
    question = "How many shares did Acme repurchase?"
    def documents_found(mode: str) -> set[str]:
        return {Path(p.doc).name for p in retriever.search(question, 3, mode=mode)}
    try:
        assert Path(retriever.document_index().search(question, 5)[0]).name == "acme-q3.txt"
        assert "acme-q3.txt" not in documents_found("hybrid-chunks")  # its chunks alone rank below the others'
        assert "acme-q3.txt" in documents_found("hybrid")
    finally:
        retriever.close()


def test_a_row_written_after_the_indexes_were_built_is_passed_over(retriever: Retriever, monkeypatch) -> None:
    """An ingest that commits during a search can hand the dense search rows the lexical snapshot lacks."""
    dense = retriever._dense
    monkeypatch.setattr(retriever, "_dense", lambda query, allowed, depth: [(10**9, 1.0), *dense(query, allowed, depth)])
    top = retriever.search("dredging deepened the main channel to metres", 3)[0]
    assert Path(top.doc).name == "valmara-port-annual-report-2025.pdf"
