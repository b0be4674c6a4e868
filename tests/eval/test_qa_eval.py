"""Question-answering evaluation: per-item scoring, summaries, adapters, the CLI, RAGAS export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.eval.qa import cited_sentences_correct, predicted_label, score_answer, summarize_qa
from rag.eval.qa_data import QA_DATASETS, QAItem, jsonl_dataset
from rag.eval.report import duration_text
from rag.types import Answer, Chunk, Evidence, Passage, Sentence


def _passage(doc: str) -> Passage:
    return Passage(Chunk(id=f"{doc}#0", doc=f"/corpus/{doc}", page=1, start=0, end=10, text="text of " + doc), 0.5)


def _answer(text: str, sentences: tuple[Sentence, ...], docs: tuple[str, ...], abstained: bool = False) -> Answer:
    return Answer("q", text, abstained, sentences, tuple(_passage(d) for d in docs), "fake",
                  {"retrieve": 10.0, "generate": 1000.0, "check": 500.0, "total": 1510.0})


SUPPORTED = Sentence("Paris is the capital [2].", (2,), "supported", 0.9, Evidence(2, 0, 5))
MISCITED = Sentence("It has 2 million people [1].", (1,), "supported", 0.8, Evidence(2, 0, 5))
UNSUPPORTED = Sentence("It was founded in 52 BC [2].", (2,), "unsupported", 0.1, Evidence(2, 0, 5))


def test_item_scores_by_hand() -> None:
    item = QAItem("1", "What is the capital?", answers=("Paris",), gold_docs=("b.txt",))
    answer = _answer("Paris is the capital [2]. It was founded in 52 BC [2].", (SUPPORTED, UNSUPPORTED), ("a.txt", "b.txt"))
    scores = score_answer(item, answer, k=5)
    assert scores["recall@5"] == 1.0 and scores["rr"] == 0.5  # gold is the second passage
    assert scores["em"] == 0.0 and scores["contains"] == 1.0 and 0 < scores["f1"] < 1
    assert scores["faithfulness"] == 0.5 and scores["score"] == scores["f1"]


def test_citation_markers_are_not_part_of_the_answer_and_the_best_reference_counts() -> None:
    item = QAItem("1", "Capital?", answers=("Paris",), reference="Lyon is a city", other_references=("Paris",))
    scores = score_answer(item, _answer("Paris [2].", (SUPPORTED,), ("a.txt", "b.txt")), k=5)
    assert scores["em"] == 1.0 and scores["f1"] == 1.0 and scores["rouge_l"] == 1.0


def test_citation_precision_needs_the_cited_passage_to_support() -> None:
    connective = Sentence("Yes [1].", (1,), "skipped")  # not a claim: neither right nor wrong
    answer = _answer("", (SUPPORTED, MISCITED, UNSUPPORTED, connective), ("a.txt", "b.txt"))
    assert cited_sentences_correct(answer) == [True, False, False]


def test_label_and_abstention() -> None:
    assert predicted_label(_answer("Yes, it does [1].", (), ("a.txt",))) == "yes"
    assert predicted_label(_answer("It is unclear; maybe [1].", (), ("a.txt",))) == "maybe"
    assert predicted_label(_answer("The no-reflow rate fell [1]. So yes.", (), ("a.txt",))) is None  # not the first
    assert predicted_label(_answer("There is no information about this.", (), (), abstained=True)) is None
    assert predicted_label(_answer("The documents do not contain the answer.", (), (), abstained=True)) is None
    assert predicted_label(_answer("No, it does not [1].", (), ("a.txt",), abstained=True)) == "no"
    assert predicted_label(_answer("No data are available on this [1].", (), ("a.txt",))) is None  # a determiner
    for said in ("**No**, it did not [1].", "No \u2014 it did not [1].", "No\n\nThe study found [1]."):
        assert predicted_label(_answer(said, (), ("a.txt",))) == "no"  # markup, a dash or a line break after it
    unanswerable = QAItem("2", "Who?", answerable=False)
    assert score_answer(unanswerable, _answer("x", (), (), abstained=True), 5)["score"] == 1.0


def _record(answerable: bool, abstained: bool, label: str = "yes", predicted: str | None = "yes",
            total_ms: float = 1000.0) -> dict:
    return {"answerable": answerable, "abstained": abstained, "label": label, "predicted_label": predicted,
            "label_correct": float(label == predicted), "cited_correct": [True, False],
            "timings_ms": {"total": total_ms}}


def test_summary_by_hand() -> None:
    records = [_record(True, False), _record(True, True, "no", None, 3000.0),
               _record(False, True, "maybe", "maybe"), _record(False, False, "no", "yes")]
    records[0]["em"], records[2]["em"] = 0.0, 1.0
    metrics = summarize_qa(records, ("yes", "no", "maybe"), k=5)
    assert metrics["label_correct"] == 0.5 and metrics["em"] == 0.0  # answer quality: answerable questions only
    from rag.eval.metrics import macro_f1

    labels = ("yes", "no", "maybe")  # macro-F1 over label accuracy's questions: the two answerable ones
    assert metrics["label_macro_f1"] == round(macro_f1(["yes", "no"], ["yes", ""], labels), 4) \
        != round(macro_f1(["yes", "no", "maybe", "no"], ["yes", "", "maybe", "yes"], labels), 4)
    # should-abstain = last two; abstained = 2nd and 3rd: precision 1/2, recall 1/2
    assert metrics["abstention_precision"] == 0.5 and metrics["abstention_recall"] == 0.5
    assert metrics["citation_precision"] == 0.5 and metrics["abstention_rate"] == 0.5
    assert metrics["total_s_p50"] == 1.0 and metrics["total_s_p95"] == pytest.approx(2.7)
    low, high = metrics["label_correct_ci95"]
    assert 0.0 <= low <= metrics["label_correct"] <= high <= 1.0


def test_a_failed_question_is_no_retrieval_miss_and_has_no_latency() -> None:
    answered, failed = _record(True, False, total_ms=2000.0), _record(True, True, total_ms=0.0)
    answered |= {"recall@5": 1.0, "rr": 1.0}
    failed |= {"recall@5": 0.0, "rr": 0.0, "error": "the question is too long"}
    metrics = summarize_qa([answered, failed], ("yes", "no", "maybe"), k=5)
    assert metrics["recall@5"] == 1.0 and metrics["mrr"] == 1.0 and metrics["failed"] == 1
    assert metrics["total_s_p50"] == metrics["total_s_p95"] == 2.0 and metrics["abstention_rate"] == 0.5
    only_failed = summarize_qa([failed], ("yes", "no", "maybe"), k=5)
    assert "recall@5" not in only_failed and not any(name.endswith(("_p50", "_p95")) for name in only_failed)


def test_adapters_read_the_shared_data(eval_data: Path, tmp_path: Path) -> None:
    loaded = {name: load(eval_data, tmp_path) for name, load in QA_DATASETS.items()}
    assert len(loaded["sec10q"].items) == 195 and all(i.gold_docs for i in loaded["sec10q"].items)
    pubmed = loaded["pubmedqa"]
    assert len(pubmed.items) == 500 and len(list(pubmed.documents.glob("*.txt"))) == 1000
    assert sorted({i.label for i in pubmed.items}) == ["maybe", "no", "yes"]
    clap = loaded["clapnq"]
    assert sum(i.answerable for i in clap.items) == 300 and sum(not i.answerable for i in clap.items) == 300
    assert max(len(i.other_references) for i in clap.items) == 6  # up to 7 references per question
    assert len(loaded["halueval-qa"].items) == 500 and loaded["halueval-qa"].items[0].answers


@pytest.mark.parametrize("dataset", ["sec10q", "wice"])
def test_missing_eval_data_names_the_folder_and_the_option(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          dataset: str) -> None:
    argv = ["--eval-data", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "data"), "eval", dataset,
            "--model", "fake", "--checker", "overlap"]
    assert main(argv) != 0
    error = capsys.readouterr().err
    assert f"{dataset}: {tmp_path / 'nowhere'}" in error and "--eval-data (or RAG_EVAL_DATA)" in error
    assert not (tmp_path / "data" / "eval").exists()  # nothing started


def test_generic_jsonl_accepts_ragas_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"user_input": "Q1?", "reference": "R"}\n{"id": "x", "question": "Q2?", "answers": "A"}\n')
    items = jsonl_dataset(path, tmp_path).items
    assert [(i.id, i.question, i.reference, i.answers) for i in items] == [("0", "Q1?", "R", ()), ("x", "Q2?", None, ("A",))]
    path.write_text('{"id": 1}\n')
    with pytest.raises(ValueError, match="line 1"):
        jsonl_dataset(path, tmp_path)
    path.write_text('{"question": "Q1?"}\n{"question": "Q2?", "id": 0}\n')  # the first one's id is its line: 0
    with pytest.raises(ValueError, match="id\\(s\\) '0' used by more than one question"):
        jsonl_dataset(path, tmp_path)
    path.write_text('{"question": "Q?", "answers": [1999], "gold_docs": "reports/acme.pdf"}\n')
    item = jsonl_dataset(path, tmp_path).items[0]
    assert item.answers == ("1999",) and item.gold_docs == ("acme.pdf",)  # one name, not its ten letters
    for bad, named in (('"answerable": "false"', "answerable"), ('"answers": [{"text": "A"}]', "answers")):
        path.write_text('{"question": "Q?", %s}\n' % bad)
        with pytest.raises(ValueError, match=f"line 1: '{named}'"):
            jsonl_dataset(path, tmp_path)


def test_cli_qa_eval_resume_export_and_compare(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               sample_copy: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "maps", "question": "How many maps does the Korsgaard collection hold?",
                                     "answers": ["3,400"], "gold_docs": ["brindlewood-library.html"]}) + "\n"
                         + json.dumps({"id": "depth", "question": "How deep is the Valmara main channel?",
                                       "gold_docs": ["valmara-port-annual-report-2025.pdf"]}) + "\n")
    base = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--model", "fake",
            "--docs", str(sample_copy), "--out", str(tmp_path / "run")]
    assert main([*base, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["items"] == 2 and summary["metrics"]["recall@5"] == 1.0
    assert isinstance(summary["config"]["threshold"], float)  # part of the run's identity
    assert main([*base, "--json"]) == 0  # everything recorded: nothing is asked again
    assert json.loads(capsys.readouterr().out)["seconds_this_session"] < 5
    assert len((tmp_path / "run" / "results.jsonl").read_text().splitlines()) == 2
    assert main(["eval", "export", str(tmp_path / "run")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "ragas.jsonl").read_text().splitlines()]
    assert set(rows[0]) >= {"user_input", "retrieved_contexts", "response"} and rows[0]["retrieved_contexts"]
    assert main(["eval", "compare", str(tmp_path / "run"), str(tmp_path / "run")]) == 0
    compared = capsys.readouterr().out
    assert "0 items changed score" in compared and "per-question score, B - A: +0 " in compared
    assert "<svg" in (tmp_path / "run" / "report.html").read_text()
    assert "| complete | True |" in (tmp_path / "run" / "report.md").read_text()  # the run's own section
    stored = json.loads((tmp_path / "run" / "summary.json").read_text())
    (tmp_path / "run" / "summary.json").write_text(json.dumps(stored | {"metrics": {"recall@5": 0.0}, "complete": False}))
    # as older code summarised it, or a run killed after its last results line before its last summary
    results = tmp_path / "run" / "results.jsonl"
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    scored = {line["id"]: (line["f1"], line["contains"]) for line in lines if "f1" in line}
    cited = {line["id"]: line["cited_correct"] for line in lines}
    assert any(any(c) for c in cited.values())
    results.write_text("".join(json.dumps(line | {"f1": 0.5, "contains": 0.5, "cited_correct": [False] * len(
        line["cited_correct"])}) + "\n" for line in lines))  # as older code scored them
    assert main(["--data-dir", str(tmp_path / "data"), "eval", "report", str(tmp_path / "run"), "--json"]) == 0
    refreshed = json.loads(capsys.readouterr().out)
    assert refreshed["metrics"]["recall@5"] == 1.0 and refreshed["metrics"]["recall@5_ci95"] == [1.0, 1.0]
    assert refreshed["complete"]  # every question of its sample has its line
    rescored = {line["id"]: (line["f1"], line["contains"]) for line in map(json.loads, results.read_text().splitlines())
                if "answers" in line and line["answers"]}
    assert rescored == scored == {"maps": scored["maps"]} and refreshed["metrics"]["contains"] == scored["maps"][1]
    assert {line["id"]: line["cited_correct"] for line in map(json.loads, results.read_text().splitlines())} == cited
    assert refreshed["wall_seconds"] == stored["wall_seconds"] and refreshed["config"] == stored["config"]
    assert f"| wall time | {duration_text(stored['wall_seconds'])} |" in (tmp_path / "run" / "report.md").read_text()


def test_a_question_too_long_to_answer_is_recorded_as_failed_and_the_run_goes_on(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    questions = _write_questions(tmp_path / "q.jsonl", [
        {"id": "huge", "question": "Korsgaard map collection maps " * 2000, "answers": ["3,400"]},
        {"id": "maps", "question": "How many maps does the Korsgaard collection hold?", "answers": ["3,400"]}])
    assert main(["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--model", "fake",
                 "--docs", str(sample_copy), "--out", str(tmp_path / "run"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["items"] == 2 and summary["metrics"]["failed"] == 1
    lines = {line["id"]: line for line in map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())}
    assert "too long" in lines["huge"]["error"] and lines["huge"]["abstained"] and lines["huge"]["answer"] == ""
    assert "error" not in lines["maps"] and lines["maps"]["contains"] == 1.0
    assert main(["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", "recheck", str(tmp_path / "run"),
                 "--model", "fake", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["failed"] == 1  # a recheck keeps the failure as it was
    rechecked = {line["id"]: line for line in map(json.loads, (tmp_path / "run-rechecked" / "results.jsonl").read_text().splitlines())}
    assert rechecked["huge"] == lines["huge"]


def _write_questions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


GOLD_QUESTIONS = [{"id": "maps", "question": "How many maps does the Korsgaard collection hold?",
                   "answers": ["3,400"], "gold_docs": ["brindlewood-library.html"]},
                  {"id": "depth", "question": "How deep is the Valmara main channel?",
                   "gold_docs": ["valmara-port-annual-report-2025.pdf"]},
                  {"id": "none", "question": "Who won the 1998 world cup?"}]  # no gold document


def test_retrieval_only_scores_retrieval_without_a_model(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         sample_copy: Path) -> None:
    from rag import pipeline

    questions = _write_questions(tmp_path / "questions.jsonl", GOLD_QUESTIONS)
    data = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--docs",
            str(sample_copy), "--retrieval-only", "--mode", "bm25", "-k", "2", "--json"]
    assert main(data) == 0  # the default model is never loaded (no cache or packages needed)
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["items"] == 2 and summary["config"]["mode"] == "retrieval"
    assert summary["config"]["retrieval"] == "bm25" and summary["metrics"]["recall@2"] == 1.0
    assert summary["metrics"]["hit@2_ci95"] == [1.0, 1.0] and "retrieve_s_p50" in summary["metrics"]
    (run,) = (tmp_path / "data" / "eval").glob("*-retrieval-bm25-k2-all-s7")  # the default folder names the mode
    assert "Retrieval evaluation (bm25, k=2): questions" in (run / "report.md").read_text()
    ours = [g for key, g in pipeline._GENERATORS.items() if str(key[2]).startswith(str(tmp_path))]
    assert ours and all(g._model is None for g in ours)  # type: ignore[attr-defined]
    assert main(["--data-dir", str(tmp_path / "data"), "eval", "report", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["mrr"] == summary["metrics"]["mrr"]
    assert "Retrieval evaluation (bm25, k=2): questions" in (run / "report.md").read_text()  # same title
    assert main(["eval", "export", str(run)]) == 0
    rows = [json.loads(line) for line in (run / "ragas.jsonl").read_text().splitlines()]
    assert "response" not in rows[0] and rows[0]["retrieved_contexts"]  # for RAGAS's context metrics


def test_retrieval_and_qa_runs_ask_the_same_sample_and_compare_only_alike(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    from rag.eval.qa import QASuite
    from rag.eval.qa_data import QADataset
    from rag.eval.retrieval import RetrievalSuite

    items = [QAItem(str(n), f"q{n}?", gold_docs=("a.txt",) if n % 2 else ()) for n in range(40)]
    data = QADataset("toy", items, tmp_path)
    asked = QASuite(data, pipeline=None, options=None, limit=10, seed=3).item_ids()  # type: ignore[arg-type]
    scored = RetrievalSuite(data, retriever=None, limit=10, seed=3).item_ids()  # type: ignore[arg-type]
    assert scored == [i for i in asked if int(i) % 2]  # the QA run's questions, less those without gold
    questions = _write_questions(tmp_path / "questions.jsonl", GOLD_QUESTIONS)
    base = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--docs",
            str(sample_copy), "--model", "fake", "--mode", "bm25", "--json"]
    assert main([*base, "--out", str(tmp_path / "qa")]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["retrieval"] == "bm25"  # --mode reached the QA run
    assert main([*base[:-5], "--retrieval-only", "--out", str(tmp_path / "retrieval")]) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "qa"), str(tmp_path / "retrieval")]) == 0
    out = capsys.readouterr().out
    assert "different kinds of runs" in out and "per-question score" not in out and "recall@5" in out


def test_options_that_would_be_ignored_are_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        sample_copy: Path) -> None:
    assert main(["eval", "compare", str(tmp_path), str(tmp_path), "--mode", "dense"]) == 2
    assert "--mode and --retrieval-only choose how a dataset is run" in capsys.readouterr().err
    assert main(["eval", "sec10q", "--retrieval-only", "--model", "fake"]) == 2
    assert "--model and --checker do not apply" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path), "eval", "wice", "--retrieval-only"]) == 2
    assert "no retrieval to score" in capsys.readouterr().err
    for command, error in ((["compare", "a", "b", "--limit", "5", "--out", "x"], "compare does not use --limit, --out"),
                           (["report", "a", "--model", "m"], "report does not use --model"),
                           (["export", "a", "--seed", "3"], "export does not use --seed"),
                           (["recheck", "a", "-k", "3"], "recheck does not use -k"),
                           (["wice", "-k", "3", "--mode", "dense"], "wice does not use -k, --mode"),
                           (["pubmedqa", "--docs", "d"], "pubmedqa does not use --docs"),
                           (["sec10q", "--ragas", "r.jsonl"], "sec10q does not use --ragas")):
        assert main(["--data-dir", str(tmp_path), "eval", *command]) == 2
        assert error in capsys.readouterr().err
    no_gold = _write_questions(tmp_path / "plain.jsonl", [{"id": "1", "question": "Who won?"}])
    assert main(["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(no_gold), "--docs",
                 str(sample_copy), "--retrieval-only"]) == 2
    assert "has no gold documents" in capsys.readouterr().err


def test_answer_from_record_keeps_the_model_abstention_only() -> None:
    from rag.eval.recheck import answer_from_record

    record = {"question": "q", "answer": "Paris is the capital [1].", "abstained": True,
              "sentences": [{"text": "Paris is the capital [1].", "citations": [1], "verdict": "unsupported", "score": 0.1}],
              "passages": [{"doc": "a.txt", "page": 1, "score": 0.5, "text": "Paris is the capital of France."}],
              "timings_ms": {"check": 5.0, "total": 50.0}}
    answer = answer_from_record(record, "fake")
    assert not answer.abstained  # the check made it an abstention: rechecking decides again
    assert answer.sentences[0].verdict == "unchecked" and answer.sentences[0].citations == (1,)
    assert answer.passages[0].text == "Paris is the capital of France." and answer.passages[0].doc == "a.txt"
    said = record | {"answer": "The documents do not contain the answer.", "sentences": [
        {"text": "The documents do not contain the answer.", "citations": [], "verdict": "unchecked", "score": None}]}
    assert answer_from_record(said, "fake").abstained  # the model abstained itself
    both = "Yes, it is safe [1]. The documents do not contain the answer."
    hedged = record | {"answer": both, "sentences": [{"text": t, "citations": c, "verdict": "unchecked", "score": None}
                                                     for t, c in ((both[:20], [1]), (both[21:], []))]}
    assert not answer_from_record(hedged, "fake").abstained  # older code called it one and left it unchecked


def test_cli_recheck_judges_the_same_answers_again(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import calibration

    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "depth", "question": "How deep is the Valmara main channel?"}) + "\n")
    data = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash"]
    assert main([*data, "eval", str(questions), "--model", "fake", "--docs", str(sample_copy),
                 "--out", str(tmp_path / "run"), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["metrics"]["faithfulness"] > 0
    stricter = tmp_path / "calibration.json"
    never = {"bias": -50.0, "support_log_odds": 0.0, "word_overlap": 0.0}  # a calibration nothing passes
    stricter.write_text(json.dumps({"overlap": {"threshold": 0.5, "weights": never}}))
    monkeypatch.setattr(calibration, "CALIBRATION_FILE", stricter)
    assert main([*data, "eval", "recheck", str(tmp_path / "run"), "--model", "fake", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["config"]["weights"] == never and again["config"]["answers_from"] == str((tmp_path / "run").resolve())
    assert again["metrics"]["faithfulness"] == 0.0 and again["items"] == 1
    before, after = (json.loads((tmp_path / name / "results.jsonl").read_text()) for name in ("run", "run-rechecked"))
    assert after["answer"] == before["answer"] and after["passages"] == before["passages"]
    assert after["timings_ms"]["generate"] == before["timings_ms"]["generate"]
    assert main([*data, "eval", "recheck", str(tmp_path / "run-rechecked"), "--model", "fake", "--json"]) == 0
    twice = json.loads(capsys.readouterr().out)["config"]
    assert twice["answers_prompts"] == first["config"]["prompts"] and twice["answers_from"].endswith("run-rechecked")
    factcheck_like = tmp_path / "not-qa"
    factcheck_like.mkdir()
    (factcheck_like / "config.json").write_text(json.dumps({"mode": "fact-check"}))
    (factcheck_like / "summary.json").write_text("{}")
    assert main([*data, "eval", "recheck", str(factcheck_like)]) != 0
    assert "not a question-answering run" in capsys.readouterr().err


def test_recheck_of_an_interrupted_run_resumes_once_the_run_is_finished(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": name, "question": question}) + "\n" for name, question in
                                 [("depth", "How deep is the Valmara main channel?"),
                                  ("maps", "How many maps does the Korsgaard collection hold?")]))
    data = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash"]
    ask = [*data, "eval", str(questions), "--model", "fake", "--docs", str(sample_copy), "--out", str(tmp_path / "run")]
    assert main([*ask, "--json"]) == 0
    capsys.readouterr()
    results, summary = tmp_path / "run" / "results.jsonl", tmp_path / "run" / "summary.json"
    results.write_text(results.read_text().splitlines()[0] + "\n")  # as if stopped after one question
    summary.write_text(json.dumps(json.loads(summary.read_text()) | {"complete": False}))
    recheck = [*data, "eval", "recheck", str(tmp_path / "run"), "--model", "fake", "--json"]
    assert main(recheck) == 0
    partial = json.loads(capsys.readouterr().out)
    assert partial["items"] == 1 and not partial["complete"]  # every answer it had, but not every question
    assert main([*ask, "--json"]) == 0  # the run resumed and finished
    capsys.readouterr()
    assert main(recheck) == 0  # the same recheck resumes and picks up the new answer
    whole = json.loads(capsys.readouterr().out)
    assert whole["items"] == 2 and whole["complete"]


def test_questions_are_asked_in_a_seeded_random_order(tmp_path: Path) -> None:
    import random

    from rag.eval.qa import QASuite
    from rag.eval.qa_data import QADataset

    items = [QAItem(str(n), f"q{n}?", answerable=n < 20) for n in range(40)]  # answerable ones first, as CLAP NQ
    data = QADataset("toy", items, tmp_path)
    full = QASuite(data, pipeline=None, options=None).item_ids()  # type: ignore[arg-type]
    assert sorted(full, key=int) == [i.id for i in items] and full != [i.id for i in items]
    assert any(not data.items[int(i)].answerable for i in full[:10])  # a partial run already holds both kinds
    assert QASuite(data, pipeline=None, options=None).item_ids() == full  # type: ignore[arg-type]
    sample = QASuite(data, pipeline=None, options=None, limit=5, seed=3).item_ids()  # type: ignore[arg-type]
    assert sample == [i.id for i in random.Random(3).sample(items, 5)]  # --limit draws the same sample as before


def test_compare_pairs_items_only_over_the_same_questions_and_says_what_the_metrics_cover(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    same_name = [_write_questions(tmp_path / "a" / "q.jsonl", GOLD_QUESTIONS[:2]),
                 _write_questions(tmp_path / "b" / "q.jsonl", [{**GOLD_QUESTIONS[1], "id": "maps"}])]
    base = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", "--docs", str(sample_copy),
            "--mode", "bm25", "--retrieval-only", "--json"]
    for name, questions, limit in (("full", same_name[0], []), ("one", same_name[0], ["--limit", "1"]),
                                   ("other", same_name[1], [])):
        assert main([*base[:5], str(questions), *base[5:], *limit, "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "full"), str(tmp_path / "other"), "--json"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert not other["same_questions"] and other["items"] == [] and other["score_change"] is None
    assert main(["eval", "compare", str(tmp_path / "full"), str(tmp_path / "other")]) == 0
    assert "asked different questions" in capsys.readouterr().out  # "maps" in B is another question
    assert main(["eval", "compare", str(tmp_path / "one"), str(tmp_path / "full")]) == 0
    out = capsys.readouterr().out
    assert "the metrics cover 1 items in A and 2 in B" in out and "over the 1 questions in both" in out


def test_a_ragas_export_imports_as_the_same_questions_and_leaves_failures_out(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    rows = [{"id": "huge", "question": "Korsgaard map collection maps " * 2000, "answers": ["3,400"]},
            {"id": "maps", "question": "How many maps does the Korsgaard collection hold?", "answers": ["3,400"],
             "gold_docs": ["brindlewood-library.html"], "label": "Yes"},
            {"id": "none", "question": "Who won the 1998 world cup?", "answerable": False}]
    questions = _write_questions(tmp_path / "q.jsonl", rows)
    assert jsonl_dataset(questions, sample_copy).items[1].label == "yes"  # any case; macro-F1 over yes/no/maybe
    assert main(["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--model", "fake",
                 "--docs", str(sample_copy), "--out", str(tmp_path / "run"), "--json"]) == 0
    capsys.readouterr()
    assert main(["eval", "export", str(tmp_path / "run"), "--ragas", str(tmp_path / "ragas.jsonl")]) == 0
    assert "2 rows written" in (out := capsys.readouterr().out) and "(1 failed questions left out)" in out
    imported = {item.id: item for item in jsonl_dataset(tmp_path / "ragas.jsonl", sample_copy).items}
    assert set(imported) == {"maps", "none"} and imported["maps"].answers == ("3,400",)
    assert imported["maps"].gold_docs == ("brindlewood-library.html",) and imported["maps"].label == "yes"
    assert not imported["none"].answerable and imported["maps"].reference is None  # RAGAS's is the short answer
    assert main(["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "eval", str(questions), "--retrieval-only",
                 "--docs", str(sample_copy), "--out", str(tmp_path / "retrieval"), "--json"]) == 0
    assert main(["eval", "export", str(tmp_path / "retrieval"), "--ragas", str(tmp_path / "ragas-r.jsonl")]) == 0
    retrieved = {item.id: item for item in jsonl_dataset(tmp_path / "ragas-r.jsonl", sample_copy).items}
    assert retrieved["maps"].label == "yes" and retrieved["maps"].answerable  # kept by retrieval runs too
    _write_questions(tmp_path / "bad.jsonl", [{"question": "Is it?", "label": "perhaps"}])
    with pytest.raises(ValueError, match="line 1: 'label' must be one of yes, no, maybe"):
        jsonl_dataset(tmp_path / "bad.jsonl", sample_copy)


def test_report_axes_and_markdown_keep_their_shape() -> None:
    from rag.eval.report import SCORE_SPAN, Histogram, Report, histogram_svg, render_markdown

    perfect = histogram_svg(Histogram("scores", "recall", {"all": [1.0, 1.0, 1.0]}, span=SCORE_SPAN))
    assert ">0</text>" in perfect and ">1</text>" in perfect  # on 0..1, not 1..2
    single = histogram_svg(Histogram("latency", "seconds", {"one": [4.0]}))
    assert ">3.5</text>" in single and ">4.5</text>" in single  # centred on the value
    report = Report("QA: my|set", {}, {}, (), ("id", "answer"), ({"id": "q1", "answer": "a\rb \\| c"},))
    markdown = render_markdown(report)
    assert markdown.startswith("# QA: my\\|set") and "| q1 | a b \\\\\\| c |" in markdown
