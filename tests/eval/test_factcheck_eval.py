"""The checker-mode evaluation: dataset adapters, per-claim scoring, resumable runs, reports and compare."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from rag.calibration import Calibration
from rag.check import OverlapChecker
from rag.cli import main
from rag.eval.factcheck import (FACTCHECK_DATASETS, FactCheckItem, FactCheckSuite, claim_scores, judge_item,
                                sample_claims, summarize_factcheck)
from rag.eval.harness import EvalOptions, run_config, run_suite
from rag.eval.runs import RunDir, RunMismatch


def _record(claim_id: str, supported: bool, score: float, seconds: float = 1.0) -> dict:
    return {"id": f"{claim_id}#{score}", "claim_id": claim_id, "supported": supported, "score": score,
            "seconds": seconds}


def test_a_claim_scores_the_maximum_over_its_rows() -> None:
    records = [_record("a", True, 0.2), _record("a", True, 0.9), _record("b", False, 0.4)]
    assert sorted(claim_scores(records)) == [("a", True, 0.9), ("b", False, 0.4)]


def test_summary_on_hand_computed_scores() -> None:
    records = [_record("a", True, 0.9), _record("b", True, 0.3), _record("c", False, 0.6), _record("d", False, 0.1),
               _record("d", False, 0.2, seconds=3.0)]
    metrics = summarize_factcheck(records, threshold=0.5)
    # at 0.5: a right, b missed (TPR 1/2); c wrong, d right (TNR 1/2)
    assert metrics["balanced_accuracy"] == 0.5 and metrics["claims"] == 4 and metrics["rows"] == 5
    assert metrics["roc_auc"] == 0.75  # positives {0.9, 0.3} vs negatives {0.6, 0.2}: 3 of 4 pairs
    assert metrics["seconds_per_claim_mean"] == 1.75 and metrics["seconds_per_row_p50"] == 1.0
    low, high = metrics["balanced_accuracy_ci95"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0 and low < high


def test_sampling_keeps_every_row_of_a_chosen_claim() -> None:
    items = [FactCheckItem(f"{c}#{r}", c, "claim", "source", True) for c in "abcdef" for r in range(3)]
    sample = sample_claims(items, limit=2, seed=1)
    assert len({i.claim_id for i in sample}) == 2 and len(sample) == 6
    assert sample == sample_claims(items, limit=2, seed=1) and sample_claims(items, None, 1) == items


def test_adapters_read_the_shared_data(eval_data: Path) -> None:
    counts = {name: load(eval_data) for name, load in FACTCHECK_DATASETS.items()}
    wice = counts["wice"]
    assert len(wice) == 1070 and len({i.claim_id for i in wice}) == 358
    assert len({i.claim_id for i in wice if i.supported}) == 110  # README: 111; test02178 is partial in this file
    assert len(counts["begin"]) == 3601 and sum(i.supported for i in counts["begin"]) == 1392
    assert len(counts["halueval"]) == 1000 and sum(i.supported for i in counts["halueval"]) == 500
    first = counts["halueval"][0]
    assert first.judged_text.startswith("Question: ") and first.context.endswith(" Answer: ")


def test_guard_checks_the_claim_not_its_context() -> None:
    source = "The Valmara port opened in 1874."
    asked = FactCheckItem("q", "q", "It opened in 1874.", source, True, context="Question: When did Ilse Brandvik's port open? Answer: ")
    wrong = FactCheckItem("w", "w", "It opened in 1875.", source, False, context="Question: When did it open? Answer: ")
    assert judge_item(OverlapChecker(), asked, Calibration())["missing"] == []
    assert judge_item(OverlapChecker(), wrong, Calibration())["missing"] == ["1875"]
    assert judge_item(OverlapChecker(), asked, Calibration())["claim"].startswith("Question: When did Ilse")


def _suite(items: list[FactCheckItem]) -> FactCheckSuite:
    return FactCheckSuite("toy", items, OverlapChecker(), Calibration())


TOY = [FactCheckItem("1", "1", "The port opened in 1874.", "The port opened in 1874 on the coast.", True),
       FactCheckItem("2", "2", "The port opened in 1990.", "The port opened in 1874 on the coast.", False),
       FactCheckItem("3", "3", "Ships carry bananas.", "The library holds 3,400 maps.", False)]


def test_run_writes_results_summary_and_reports(settings, tmp_path: Path) -> None:
    result = run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert result.summary["complete"] and result.summary["metrics"]["balanced_accuracy"] == 1.0
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2", "3"]
    assert json.loads(lines[1])["missing"] == ["1990"]  # the lexical guard named the wrong year
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<svg" in html and "balanced_accuracy" in html and "Ships carry bananas." in html
    assert "![support score" in (tmp_path / "run" / "report.md").read_text()


def test_an_interrupted_run_resumes_without_redoing_items(settings, tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    suite = _suite(TOY)
    run.start(run_config(suite, EvalOptions("toy")))
    run.append(suite.run_item("1"))
    with open(run.results_file, "a") as handle:
        handle.write('{"id": "2", "claim_id"')  # killed mid-line
    judged: list[str] = []
    original = suite.run_item
    suite.run_item = lambda item_id: judged.append(item_id) or original(item_id)  # type: ignore[method-assign]
    result = run_suite(suite, settings, EvalOptions("toy", out=run.root, progress=False))
    assert judged == ["2", "3"] and result.summary["items"] == 3 and result.summary["wall_seconds"] >= 0
    assert [r["id"] for r in run.results()] == ["1", "2", "3"]


def test_a_last_line_without_its_newline_is_unfinished_even_where_it_parses(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.start({"dataset": "toy"})
    run.append({"id": "1", "answer": "kept"})
    with open(run.results_file, "a") as handle:
        handle.write('{"id": "2", "answer": "cut before its newline"}')
    assert [r["id"] for r in run.results()] == ["1"]  # so it is redone, as the next append drops it
    run.append({"id": "2", "answer": "redone"})
    assert [(r["id"], r["answer"]) for r in run.results()] == [("1", "kept"), ("2", "redone")]


def test_results_survive_line_separators_in_text_and_keep_one_record_per_item(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.start({"dataset": "toy"})
    run.append({"id": "1", "answer": "PDF text\x85with\u2028separators\u2029inside"})
    run.append({"id": "2", "answer": "first try"})
    run.append({"id": "2", "answer": "second try"})  # e.g. two processes on the same folder
    assert [(r["id"], r["answer"]) for r in run.results()] == [
        ("1", "PDF text\x85with\u2028separators\u2029inside"), ("2", "second try")]


def test_resuming_with_other_settings_is_refused(settings, tmp_path: Path) -> None:
    run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    with pytest.raises(RunMismatch, match="seed"):
        run_suite(_suite(TOY), settings, EvalOptions("toy", seed=8, out=tmp_path / "run", progress=False))


def test_report_rewrites_a_fact_check_summary_from_its_results(settings, tmp_path: Path) -> None:
    from rag.eval.refresh import refresh_run

    run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    run = RunDir(tmp_path / "run")
    before = run.summary()
    run.write_summary(before | {"metrics": {}})
    assert refresh_run(run, settings)["metrics"] == before["metrics"]
    assert "Fact-check evaluation: toy" in (tmp_path / "run" / "report.md").read_text()


def test_a_change_to_the_answering_code_is_another_run(settings, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    from rag.eval import harness

    run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert len(RunDir(tmp_path / "run").config()["code"]) == 12
    monkeypatch.setattr(harness, "code_fingerprint", lambda modules: "edited-guard")
    with pytest.raises(RunMismatch, match="code"):
        run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    shapes = [ast.dump(harness._without_docstrings(ast.parse(source))) for source in (
        'def f():\n    """Doc."""\n    return 1\n', 'def f():\n    """Other doc."""  # a comment\n    return 1\n',
        'def f():\n    return 2\n', 'class C:\n    """Only a docstring."""\n')]
    assert shapes[0] == shapes[1] != shapes[2] and "Pass" in shapes[3]  # text aside, the code decides


def test_the_answer_fingerprint_covers_the_prompt_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit to how passages or the question are laid out makes answers another run's."""
    import rag.prompts
    from rag.eval.harness import CODE_BY_MODE, code_fingerprint

    before = code_fingerprint(CODE_BY_MODE["qa"])
    edited = tmp_path / "prompts.py"
    source = Path(rag.prompts.__file__).read_text()
    edited.write_text(source.replace("QUESTION_TEMPLATE = ", "QUESTION_TEMPLATE = 'Q: ' + ", 1))
    assert edited.read_text() != source
    monkeypatch.setattr(rag.prompts, "__file__", str(edited))
    assert code_fingerprint(CODE_BY_MODE["qa"]) != before


def test_cli_eval_and_compare(capsys: pytest.CaptureFixture[str], tmp_path: Path, eval_data: Path) -> None:
    base = ["--data-dir", str(tmp_path), "--eval-data", str(eval_data), "eval"]
    assert main([*base, "halueval", "--checker", "overlap", "--limit", "12", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 12 and summary["config"]["checker"] == "overlap" and 0 <= summary["metrics"]["roc_auc"] <= 1
    assert main([*base, "halueval", "--checker", "overlap", "--limit", "12", "--seed", "8", "--out", str(tmp_path / "b")]) == 0
    first = next((tmp_path / "eval").iterdir())
    capsys.readouterr()
    assert main([*base, "compare", str(first), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "roc_auc" in out and "items only in A" in out
    assert main([*base, "compare", str(first)]) == 2 and "usage" in capsys.readouterr().err


def test_ctrl_c_leaves_a_summary_and_the_run_resumes(settings, tmp_path: Path) -> None:
    suite = _suite(TOY)
    original = suite.run_item

    def interrupted(item_id: str) -> dict:
        if item_id == "2":
            raise KeyboardInterrupt
        return original(item_id)

    suite.run_item = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    partial = RunDir(tmp_path / "run").summary()
    assert partial["items"] == 1 and not partial["complete"]
    result = run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert result.summary["complete"] and result.summary["items"] == 3


def test_a_terminated_run_writes_its_summary_too(settings, tmp_path: Path) -> None:
    suite = _suite(TOY)
    original = suite.run_item

    def terminated(item_id: str) -> dict:
        if item_id == "2":
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` or the end of a session would
        return original(item_id)

    suite.run_item = terminated  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert RunDir(tmp_path / "run").summary()["items"] in (1, 2)  # item 2 may finish before the handler runs
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is removed again


def test_a_run_killed_outright_keeps_its_last_checkpoint(settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.eval import harness

    monkeypatch.setattr(harness, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint after every item
    suite = _suite(TOY)
    original = suite.run_item

    def killed(item_id: str) -> dict:
        if item_id == "3":
            raise SystemExit("SIGKILL: nothing runs after this, no summary is written on the way out")
        time.sleep(0.1)  # time worth keeping
        return original(item_id)

    suite.run_item = killed  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        run_suite(suite, settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    checkpoint = RunDir(tmp_path / "run").summary()
    assert checkpoint["items"] == 2 and not checkpoint["complete"] and checkpoint["wall_seconds"] >= 0.2
    result = run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert result.summary["complete"] and result.summary["wall_seconds"] >= checkpoint["wall_seconds"]
    assert result.summary["wall_seconds"] == round(checkpoint["wall_seconds"] + result.summary["seconds_this_session"], 1)


def test_a_second_evaluation_into_the_same_folder_is_refused(settings, tmp_path: Path) -> None:
    from rag.eval.runs import RunInUse
    from rag.locking import try_lock

    (tmp_path / "run").mkdir()
    holder = try_lock(tmp_path / "run" / ".lock")  # another evaluation (process or UI session) is writing it
    assert holder is not None
    with pytest.raises(RunInUse, match="being written by another evaluation"):
        run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    assert not (tmp_path / "run" / "results.jsonl").exists()
    holder.close()  # it finished: the folder is free again
    assert run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False)).summary["complete"]


def test_a_report_refresh_waits_for_no_one_and_reads_old_summaries(settings, tmp_path: Path) -> None:
    from rag.eval.refresh import refresh_run
    from rag.eval.report import run_facts
    from rag.eval.runs import RunInUse
    from rag.locking import try_lock

    run_suite(_suite(TOY), settings, EvalOptions("toy", out=tmp_path / "run", progress=False))
    holder = try_lock(tmp_path / "run" / ".lock")  # an evaluation is writing the run
    with pytest.raises(RunInUse):
        refresh_run(RunDir(tmp_path / "run"), settings)
    holder.close()  # type: ignore[union-attr]
    old = json.loads((tmp_path / "run" / "summary.json").read_text())
    del old["wall_seconds"], old["items"]  # a summary written before these were recorded
    (tmp_path / "run" / "summary.json").write_text(json.dumps(old))
    refreshed = refresh_run(RunDir(tmp_path / "run"), settings)
    assert refreshed["items"] == 3 and "| wall time | unknown |" in (tmp_path / "run" / "report.md").read_text()
    assert run_facts(refreshed)["wall time"] == "unknown"
    with pytest.raises(FileNotFoundError, match="is it an evaluation run folder"):
        refresh_run(RunDir(tmp_path / "elsewhere"), settings)
    assert not (tmp_path / "elsewhere").exists()


def test_judgements_round_trip_through_results_lines() -> None:
    from rag.eval.factcheck import judgement_fields, stored_judgement
    from rag.types import Judgement

    with_gain = Judgement(0.7, 0.2, weakest_gain=-2.5)
    read = stored_judgement(json.loads(json.dumps(judgement_fields(with_gain))))
    assert (read.support, read.contradict, read.weakest_gain) == (0.7, 0.2, -2.5) and read.neutral == pytest.approx(0.1)
    without = stored_judgement(judgement_fields(Judgement(0.7, 0.2)))
    assert without.weakest_gain is None and "weakest_gain" not in judgement_fields(without)
    old_scores_file_row = {"id": "x", "checker": "llm-judge:m", "support": 0.4, "contradict": 0.5}
    assert stored_judgement(old_scores_file_row).support == 0.4


def test_an_interval_resamples_a_question_s_two_answers_together() -> None:
    """HaluEval: every right answer passes; half the questions' hallucinated answers pass too. Drawing
    questions, the balanced accuracy of a draw is (1 + the share of its hallucinations caught) / 2."""
    from rag.eval.factcheck import summarize_factcheck
    from rag.eval.metrics import mean_interval

    caught = [1.0] * 5 + [0.0] * 5
    records = [{"claim_id": f"q{n}:{kind}", "group": f"q{n}", "supported": kind == "right", "seconds": 1.0,
                "score": 0.9 if kind == "right" or not caught[n] else 0.1}
               for n in range(10) for kind in ("right", "hallucinated")]
    metrics = summarize_factcheck(records, threshold=0.5)
    low, high = mean_interval(caught)
    assert metrics["balanced_accuracy"] == 0.75
    assert metrics["balanced_accuracy_ci95"] == pytest.approx([(1 + low) / 2, (1 + high) / 2])
