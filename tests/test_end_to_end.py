"""The real packaged embedder over the real sample documents (marked slow; runs in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.embedders import make_embedder
from rag.retrieve import Retriever


@pytest.mark.slow
def test_real_embedder_finds_the_page_that_answers(settings: Settings, sample_copy: Path) -> None:
    real = settings.with_overrides(embedder="packaged")
    report = ingest_paths([sample_copy], real, options=IngestOptions(progress=False))
    assert report.count("added") == 3 and report.chunks_added >= 3
    retriever = Retriever.open(real, make_embedder("packaged"))
    try:
        found = retriever.search("How deep is the main channel of the Port of Valmara?", 3)
        answering = [p for p in found if "16.5 metres" in p.text]
        assert answering and Path(answering[0].doc).name == "valmara-port-annual-report-2025.pdf"
        assert answering[0].page == 2
        library = retriever.search("Who founded the Brindlewood library, and when?", 1)[0]
        assert Path(library.doc).suffix == ".html" and "1874" in library.text
        assert "analytics" not in library.text
    finally:
        retriever.close()
    again = ingest_paths([sample_copy], real, options=IngestOptions(progress=False))
    assert again.count("unchanged") == 3 and again.chunks_added == 0
