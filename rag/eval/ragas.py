"""RAGAS-style interchange: a run's results as rows with RAGAS field names, so RAGAS (or any tool that
reads its single-turn sample format) can score the same answers. Importing goes through the generic JSONL
dataset adapter, which accepts "user_input" and "reference" (rag.eval.qa_data.jsonl_dataset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


OWN_FIELDS = ("id", "answers", "gold_docs", "answerable", "label")  # RAGAS ignores them; the JSONL import reads them
REFERENCE_FROM = "reference_from"  # "answers": RAGAS's reference is the first short answer, which import skips


def ragas_row(record: dict[str, Any]) -> dict[str, Any]:
    """One results line as a RAGAS single-turn sample (without "response" for a retrieval-only run, for
    RAGAS's context metrics), plus the item's own fields so that importing the file asks the same questions
    with the same ids and scores them the same way.

    >>> ragas_row({"id": "q1", "question": "Q?", "answer": "A [1].", "passages": [{"text": "ctx"}], "answers": ["A"]})
    {'user_input': 'Q?', 'retrieved_contexts': ['ctx'], 'response': 'A [1].', 'reference': 'A', 'reference_from': 'answers', 'id': 'q1', 'answers': ['A']}
    """
    reference = record.get("reference") or next(iter(record.get("answers") or []), None)
    row = {"user_input": record["question"], "retrieved_contexts": [p["text"] for p in record.get("passages", [])]}
    row |= {"response": record["answer"]} if "answer" in record else {}  # a retrieval-only run has none
    row |= {"reference": reference} if reference else {}
    row |= {} if record.get("reference") or not reference else {REFERENCE_FROM: "answers"}  # not a long answer
    return row | {name: record[name] for name in OWN_FIELDS if record.get(name) not in (None, [])}


def export_ragas(records: list[dict[str, Any]], target: Path) -> tuple[int, int]:
    """Write question-answering results as RAGAS JSONL; returns the rows written and the failed questions
    left out (they have no answer or passages to score)."""
    questions = [record for record in records if "question" in record]
    if not questions:
        raise ValueError("this run has no question-answering results to export (fact-check runs have none)")
    rows = [ragas_row(record) for record in questions if "error" not in record]
    target.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows), len(questions) - len(rows)
