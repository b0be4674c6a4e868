"""`rag eval` end to end with the real packaged models: your own JSONL questions over the sample documents
and a few HaluEval questions (the whole pipeline), and a few HaluEval fact-check rows (the checker alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from tests.conftest import MODELS_DIR, SAMPLE_DIR

pytestmark = pytest.mark.slow


def _eval(tmp_path: Path, eval_data: Path, *argv: str) -> int:  # eval_data: the shared datasets' folder
    code = main(["--data-dir", str(tmp_path), "--eval-data", str(eval_data), "eval", *argv, "--json"])
    assert code == 0
    return code


SAMPLE_QUESTIONS = [  # facts stated once in the sample documents, and one question they cannot answer
    {"id": "port", "question": "How deep is the main channel of the Port of Valmara after the dredging?",
     "answers": ["16.5"], "gold_docs": ["valmara-port-annual-report-2025.pdf"]},
    {"id": "library", "question": "Who founded the Brindlewood Public Library?", "answers": ["Korsgaard"],
     "gold_docs": ["brindlewood-library.html"]},
    {"id": "outside", "question": "Who won the 1998 football world cup?", "answerable": False},
]


def test_qa_eval_with_the_default_model(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Your own JSONL questions over the sample documents (no shared evaluation data needed): answers
    found, the outside question abstained."""
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    questions = tmp_path / "sample-questions.jsonl"
    questions.write_text("".join(json.dumps(row) + "\n" for row in SAMPLE_QUESTIONS))
    _eval(tmp_path, tmp_path, str(questions), "--docs", str(SAMPLE_DIR))
    summary = json.loads(capsys.readouterr().out)
    metrics = summary["metrics"]
    assert summary["complete"] and metrics["questions"] == 3
    assert metrics["recall@5"] == 1.0 and metrics["contains"] >= 1 / 2, metrics
    assert metrics["abstention_recall"] == 1.0 and metrics["generate_s_p50"] > 0, metrics
    records = [json.loads(line) for line in next((tmp_path / "eval").iterdir()).joinpath("results.jsonl").open()]
    assert all(r["passages"] and r["answer"] for r in records)
    assert any(s["verdict"] == "supported" for r in records for s in r["sentences"])


def test_halueval_qa_adapter_with_the_default_model(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    eval_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HaluEval's multi-hop questions over their own collection: each question's knowledge paragraph is
    retrieved and every answer is checked (answer quality of the 1.5B model is reported, not asserted)."""
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    _eval(tmp_path, eval_data, "halueval-qa", "--limit", "2", "--seed", "1")
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["questions"] == 2 and metrics["recall@5"] == 1.0, metrics
    assert {"em", "f1", "contains", "abstention_rate", "check_s_p95"} <= metrics.keys(), metrics


def test_checker_eval_with_the_default_model(capsys: pytest.CaptureFixture[str], tmp_path: Path, eval_data: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    _eval(tmp_path, eval_data, "halueval", "--limit", "8", "--seed", "3")
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["checker"].startswith("llm-judge:Qwen2.5-Coder-1.5B")
    assert summary["config"]["threshold"] != 0.5  # the calibrated threshold, not the fallback
    assert summary["metrics"]["rows"] == 8 and summary["metrics"]["roc_auc"] >= 0.6
