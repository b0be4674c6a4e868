"""Several UI sessions (threads) share one pipeline: their answers must not interfere."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.pipeline import shared_generator, shared_pipeline

QUESTIONS = ("How many maps does the Korsgaard Map Collection hold?", "When did dredging of the main channel finish?",
             "How long does the Helios H2 battery take to charge?")


def test_threads_share_one_pipeline_and_get_their_own_answers(settings: Settings, sample_copy: Path) -> None:
    ingest_paths([sample_copy], settings, options=IngestOptions(progress=False))
    assert shared_pipeline(settings) is shared_pipeline(settings)
    assert shared_generator(settings) is shared_pipeline(settings).generator
    alone = {q: shared_pipeline(settings).answer(q) for q in QUESTIONS}  # one at a time
    assert len({answer.text for answer in alone.values()}) == len(QUESTIONS)
    asked = list(QUESTIONS) * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda q: shared_pipeline(settings).answer(q), asked))
    for question, answer in zip(asked, together):
        assert (answer.question, answer.text, answer.passages) == (question, alone[question].text, alone[question].passages)


def test_collections_share_the_models(settings: Settings, sample_copy: Path) -> None:
    other = settings.with_overrides(collection="other")
    for each in (settings, other):
        ingest_paths([sample_copy], each, options=IngestOptions(progress=False))
    first, second = shared_pipeline(settings), shared_pipeline(other)
    assert first is not second and first.retriever.collection.name != second.retriever.collection.name
    assert first.retriever.embedder is second.retriever.embedder and first.generator is second.generator


def test_models_share_the_collection_and_only_the_latest_models_are_kept(settings: Settings,
                                                                         sample_copy: Path) -> None:
    from rag import pipeline as module

    ingest_paths([sample_copy], settings, options=IngestOptions(progress=False))
    first, second, third = (shared_pipeline(settings.with_overrides(model=f"model-{n}")) for n in range(3))
    assert first.retriever is second.retriever is third.retriever  # one index in memory for the collection
    held = [g for key, g in module._GENERATORS.items() if key[2] == settings.model_cache_dir]
    assert held == [second.generator, third.generator] and module.HELD_MODELS == 2
    assert first not in module._PIPELINES.values()  # let go with its model
    again = shared_pipeline(settings.with_overrides(model="model-0"))
    assert again is not first and again.retriever is first.retriever
