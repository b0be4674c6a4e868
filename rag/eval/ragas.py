"""RAGAS-style interchange: a run's results as rows with RAGAS field names, so RAGAS (or any tool that
reads its single-turn sample format) can score the same answers. Importing goes through the generic JSONL
dataset adapter, which accepts "user_input" and "reference" (rag.eval.qa_data.jsonl_dataset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def ragas_row(record: dict[str, Any]) -> dict[str, Any]:
    """One results line as a RAGAS single-turn sample (without "response" for a retrieval-only run, for
    RAGAS's context metrics).

    >>> ragas_row({"question": "Q?", "answer": "A [1].", "passages": [{"text": "ctx"}], "answers": ["A"]})
    {'user_input': 'Q?', 'retrieved_contexts': ['ctx'], 'response': 'A [1].', 'reference': 'A'}
    """
    reference = record.get("reference") or next(iter(record.get("answers") or []), None)
    row = {"user_input": record["question"], "retrieved_contexts": [p["text"] for p in record.get("passages", [])]}
    row |= {"response": record["answer"]} if "answer" in record else {}  # a retrieval-only run has none
    return row | ({"reference": reference} if reference else {})


def export_ragas(records: list[dict[str, Any]], target: Path) -> int:
    """Write question-answering results as RAGAS JSONL; returns the rows written."""
    rows = [ragas_row(record) for record in records if "question" in record]
    if not rows:
        raise ValueError("this run has no question-answering results to export (fact-check runs have none)")
    target.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)
