from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from ingest.runners import SerialRunner
from rag.config import Settings
from rag.embedders import HashEmbedder
from rag.retrieve import Retriever


@pytest.fixture
def retriever(settings: Settings, sample_copy: Path):
    (sample_copy / "dup.txt").write_text((sample_copy / "helios-h2-battery-faq.md").read_text())
    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    opened = Retriever.open(settings, HashEmbedder())
    yield opened
    opened.close()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_page(retriever: Retriever, mode: str) -> None:
    top = retriever.search("dredging deepened the main channel to metres", 3, mode=mode)[0]
    assert Path(top.doc).name == "valmara-port-annual-report-2025.pdf" and top.page == 2


def test_bm25_matches_stems(retriever: Retriever) -> None:
    hits = retriever.search("crane commissioning", 2, mode="bm25")
    assert hits and "cranes were commissioned" in hits[0].text


def test_near_duplicate_documents_are_returned_once(retriever: Retriever) -> None:
    texts = [p.text for p in retriever.search("Helios H2 warranty cycles", 5)]
    assert sum("8,000 full charge cycles" in text for text in texts) == 1


def test_document_filter(retriever: Retriever) -> None:
    hits = retriever.search("when was it founded", 5, docs=["brindlewood-library.html"])
    assert hits and {Path(p.doc).name for p in hits} == {"brindlewood-library.html"}
    assert retriever.search("anything", 5, docs=["no-such-doc.pdf"]) == []


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
    for mode in ("bm25", "dense"):
        assert "zeppelin" in retriever.search("zeppelin hangar", 1, mode=mode)[0].text


def test_an_empty_collection_finds_nothing_in_any_mode() -> None:
    from rag.lexical import LexicalIndex

    assert LexicalIndex.build([]).search("channel depth", 3) == []  # every document deleted: no vocabulary
