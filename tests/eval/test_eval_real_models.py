"""`rag eval` end to end with the real packaged models: a few HaluEval questions (the whole pipeline over
the dataset's own collection) and a few WiCE claims (the checker alone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.slow


def _eval(tmp_path: Path, eval_data: Path, *argv: str) -> int:
    code = main(["--data-dir", str(tmp_path), "--eval-data", str(eval_data), "eval", *argv, "--json"])
    assert code == 0
    return code


def test_qa_eval_with_the_default_model(capsys: pytest.CaptureFixture[str], tmp_path: Path, eval_data: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    _eval(tmp_path, eval_data, "halueval-qa", "--limit", "3", "--seed", "1")
    summary = json.loads(capsys.readouterr().out)
    metrics = summary["metrics"]
    assert summary["complete"] and metrics["questions"] == 3
    assert metrics["recall@5"] >= 2 / 3  # each question's own knowledge paragraph is retrieved
    assert metrics["contains"] >= 1 / 3 and "faithfulness" in metrics and metrics["generate_s_p50"] > 0
    records = [json.loads(line) for line in next((tmp_path / "eval").iterdir()).joinpath("results.jsonl").open()]
    assert all(r["passages"] and r["answer"] for r in records)
    assert any(s["verdict"] in ("supported", "unsupported", "contradicted") for r in records for s in r["sentences"])


def test_checker_eval_with_the_default_model(capsys: pytest.CaptureFixture[str], tmp_path: Path, eval_data: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    _eval(tmp_path, eval_data, "halueval", "--limit", "8", "--seed", "3")
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["checker"].startswith("llm-judge:Qwen2.5-Coder-1.5B")
    assert summary["config"]["threshold"] != 0.5  # the calibrated threshold, not the fallback
    assert summary["metrics"]["rows"] == 8 and summary["metrics"]["roc_auc"] >= 0.6
