"""What QA and retrieval runs share about their questions: the order they are asked in, the run identity
that the questions and the collection decide, the retrieval scores and the passages as results lines hold
them. Pure functions over plain data: summarising a run never imports the answering pipeline."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from rag.eval.metrics import recall_at_k, reciprocal_rank
from rag.eval.qa_data import QAItem
from rag.types import Passage

if TYPE_CHECKING:
    from rag.collection import Collection


def asked_items(items: list[QAItem], limit: int | None, seed: int) -> list[QAItem]:
    """The questions in the order they are asked: a seeded random sample of ``limit`` (or all of them,
    shuffled), so an interrupted full run is a random sample too (CLAP NQ's file lists all answerable
    questions first). A sample is not the first ``limit`` of the full run's order: random.sample draws
    differently for different sizes (pair runs by question id, as compare does)."""
    count = len(items) if limit is None else min(limit, len(items))
    return random.Random(seed).sample(items, count)


def questions_fingerprint(items: list[QAItem]) -> str:
    """A short hash of the questions and their gold data (an edited JSONL file is another dataset)."""
    return hashlib.sha256(repr(items).encode()).hexdigest()[:12]


def collection_config(collection: Collection, items: list[QAItem]) -> dict[str, Any]:
    """The parts of a run's identity that the collection and the questions decide."""
    return {"collection": collection.name, "embedder": collection.manifest.embedder,
            "chunking": [collection.manifest.chunk_tokens, collection.manifest.chunk_overlap],
            "questions": questions_fingerprint(items)}


def retrieval_scores(passages: Sequence[Passage], gold_docs: Sequence[str], k: int) -> dict[str, float]:
    """recall@k and reciprocal rank of the passages' documents (by file name) against the gold documents."""
    docs = [Path(p.doc).name for p in passages]
    return {f"recall@{k}": recall_at_k(docs, gold_docs, k), "rr": reciprocal_rank(docs, gold_docs)}


def passage_records(passages: Sequence[Passage]) -> list[dict[str, Any]]:
    """The passages as a results line holds them (document file name, page, score, text)."""
    return [{"doc": Path(p.doc).name, "page": p.page, "score": round(p.score, 4), "text": p.text} for p in passages]


def item_references(item: QAItem) -> dict[str, Any]:
    """The item's gold data as a results line holds it (for scoring again and RAGAS export): reference
    answers, label and whether it is answerable (a retrieval-only run keeps them too)."""
    return {"reference": item.reference, "answers": list(item.answers), "label": item.label,
            "answerable": item.answerable}
