"""The real packaged default generator (Qwen2.5-Coder-1.5B-Instruct) over the real sample documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.pipeline import AskOptions, open_pipeline


@pytest.fixture(scope="module")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import MODELS_DIR, SAMPLE_DIR
    from rag.config import load_settings

    settings: Settings = load_settings({}, data_dir=tmp_path_factory.mktemp("data"), embedder="packaged",
                                       model="default", models_dir=MODELS_DIR)
    ingest_paths([SAMPLE_DIR], settings, options=IngestOptions(progress=False))
    pipeline = open_pipeline(settings)
    yield pipeline
    pipeline.close()


@pytest.mark.slow
def test_answer_contains_the_fact_and_cites_its_page(real_pipeline) -> None:
    answer = real_pipeline.answer("How deep is the main channel of the Port of Valmara after the dredging?",
                                  AskOptions(k=3))
    assert "16.5" in answer.text and not answer.abstained, answer.text
    cited = {(Path(answer.passages[n - 1].doc).name, answer.passages[n - 1].page)
             for sentence in answer.sentences for n in sentence.citations}
    assert ("valmara-port-annual-report-2025.pdf", 2) in cited, answer


@pytest.mark.slow
def test_question_outside_the_documents_is_abstained(real_pipeline) -> None:
    answer = real_pipeline.answer("Who won the 1998 football world cup?", AskOptions(k=3))
    assert answer.abstained, answer.text
