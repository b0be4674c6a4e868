"""`rag eval DATASET --retrieval-only`: retrieval alone over a QA dataset's collection, scored against its
gold documents (recall@k, MRR, hit rate) with its latency, in seconds where the whole pipeline takes hours
on a CPU: for choosing k, the retrieval mode, chunking or the embedder before a full run. The queries are
the QA run's (question and the dataset's suffix) and so is the sample; questions without gold documents
(CLAP NQ's unanswerable ones) have nothing to find and are left out of it. The QA pipeline scores only the
passages that fit the prompt's token budget, so at a large k this can count more than the model sees."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rag.eval.harness import answers_all
from rag.eval.metrics import latency_percentiles, mean, mean_interval
from rag.eval.qa_data import QADataset, QAItem
from rag.eval.questions import asked_items, collection_config, item_references, passage_records, retrieval_scores
from rag.eval.report import SCORE_SPAN, Histogram, Report
from rag.retrieve import Retriever


@dataclass
class RetrievalSuite:
    data: QADataset
    retriever: Retriever
    k: int = 5
    retrieval: str = "hybrid"  # one of rag.retrieve.MODES
    limit: int | None = None
    seed: int = 7

    @property
    def dataset(self) -> str:
        return self.data.name

    def config(self) -> dict[str, Any]:
        return {"mode": "retrieval", "k": self.k, "retrieval": self.retrieval,
                "question_suffix": self.data.question_suffix,
                **collection_config(self.retriever.collection, self.data.items)}

    def item_ids(self) -> list[str]:
        return list(self._items)

    def run_item(self, item_id: str) -> dict[str, Any]:
        item = self._items[item_id]
        started = time.perf_counter()
        passages = self.retriever.search(item.question + self.data.question_suffix, self.k, self.retrieval)
        scores = retrieval_scores(passages, item.gold_docs, self.k)
        return {"id": item.id, "question": item.question, "gold_docs": list(item.gold_docs),
                "passages": passage_records(passages),
                "timings_ms": {"retrieve": round((time.perf_counter() - started) * 1000, 1)},
                **item_references(item), **scores, "score": scores["rr"]}

    def complete(self, records: list[dict[str, Any]]) -> bool:
        return answers_all(self, records)

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return summarize_retrieval(records, self.k)

    def report(self, records: list[dict[str, Any]], metrics: dict[str, Any]) -> Report:
        return retrieval_report(self.dataset, self.config(), records, metrics, self.k)

    @cached_property
    def _items(self) -> dict[str, QAItem]:
        """The questions a QA run with this limit and seed asks, in its order, less those without gold documents."""
        asked = asked_items(self.data.items, self.limit, self.seed)
        return {item.id: item for item in asked if item.gold_docs}


def summarize_retrieval(records: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """Mean recall@k, MRR and hit rate (a gold document in the top k), each with its 95% bootstrap interval
    over the questions, and retrieval latency p50/p95 in seconds."""
    metrics: dict[str, Any] = {"questions": len(records)}
    columns = {f"recall@{k}": [r[f"recall@{k}"] for r in records], "mrr": [r["rr"] for r in records],
               f"hit@{k}": [float(r[f"recall@{k}"] > 0) for r in records]}
    for name, values in columns.items():
        metrics |= {name: mean(values), f"{name}_ci95": mean_interval(values)}
    seconds = [r["timings_ms"]["retrieve"] / 1000 for r in records]
    metrics |= latency_percentiles("retrieve_s", seconds)
    return {name: value for name, value in metrics.items() if value is not None}


def retrieval_report(dataset: str, config: dict[str, Any], records: list[dict[str, Any]], metrics: dict[str, Any],
                     k: int) -> Report:
    histograms = (Histogram("scores", "per-question reciprocal rank of the first gold document",
                            {"questions": [r["rr"] for r in records]}, span=SCORE_SPAN),
                  Histogram("latency", "retrieval seconds per question",
                            {"retrieve": [r["timings_ms"]["retrieve"] / 1000 for r in records]}))
    rows = tuple({**r, "top passage": r["passages"][0]["doc"] if r["passages"] else "",
                  "gold": ", ".join(r["gold_docs"])} for r in records)
    columns = ("id", "question", "gold", "top passage", f"recall@{k}", "rr")
    return Report(f"Retrieval evaluation ({config['retrieval']}, k={k}): {dataset}", config, metrics, histograms,
                  columns, rows)
