"""`rag eval report RUN`: a run's summary.json and reports rewritten from its results.jsonl with today's
summary code (e.g. intervals added since the run was made). A QA run's per-question scores are computed
again from the answers it holds with today's metric code, and its results lines rewritten with them
(citation correctness only where the lines record each sentence's evidence, as they do since 2026-11-28).
Nothing is asked or judged again, and the run's settings and wall time stay as they were."""

from __future__ import annotations

from typing import Any

from rag.config import Settings
from rag.eval.report import Report, write_report
from rag.eval.runs import RunDir


# A run's metrics, report and results lines, and whether those answer its whole sample (None: as recorded).
Summarized = tuple[dict[str, Any], Report, list[dict[str, Any]], bool | None]


def refresh_run(run: RunDir, settings: Settings) -> dict[str, Any]:
    """Summarise the run's results again, write summary.json and the reports; returns the new summary.
    Refused while an evaluation is writing the run (its next checkpoint would overwrite this anyway)."""
    config = run.config()  # not a run folder: said before anything is written there
    with run.exclusive():
        summary = run.summary()
        summarize = {"qa": _qa, "retrieval": _retrieval}.get(config.get("mode"), _factcheck)
        metrics, report, records, complete = summarize(config, run.results(), settings,
                                                       summary.get("dataset") or config["dataset"])
        if config.get("mode") == "qa":
            run.rewrite_results(records)
        summary |= {"items": len(records), "metrics": metrics}
        summary |= {} if complete is None else {"complete": complete}  # a run killed after its last line
        run.write_summary(summary)
        write_report(run, report, summary)
    return summary


def _qa(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    """Per-question scores computed again from the answers (against today's references), then summarised."""
    from rag.eval.qa import qa_report, rescored, summarize_qa
    from rag.eval.questions import asked_items, questions_fingerprint
    from rag.eval.recheck import recorded_answer
    from rag.eval.suites import qa_dataset

    data = qa_dataset(settings, config["dataset"], config["collection"])
    if questions_fingerprint(data.items) != config["questions"]:
        raise ValueError(f"the questions of {config['dataset']} changed since the run was made: its answers "
                         "cannot be scored against today's references")
    items = {item.id: item for item in data.items}
    records = [rescored(record, items[record["id"]], recorded_answer(record, config["model"]), config["k"])
               for record in records]
    metrics = summarize_qa(records, data.labels, config["k"])
    complete = {r["id"] for r in records} >= {item.id for item in asked_items(data.items, config["limit"], config["seed"])}
    return metrics, qa_report(name, config, records, metrics, config["k"]), records, complete


def _retrieval(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    from rag.eval.retrieval import retrieval_report, summarize_retrieval

    metrics = summarize_retrieval(records, config["k"])
    return metrics, retrieval_report(name, config, records, metrics, config["k"]), records, None


def _factcheck(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    from rag.eval.factcheck import factcheck_report, summarize_factcheck

    metrics = summarize_factcheck(records, config["threshold"])
    return metrics, factcheck_report(name, config, records, metrics, config["threshold"]), records, None
