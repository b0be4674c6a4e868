"""`rag eval report RUN`: a run's summary.json and reports rewritten from its results.jsonl with today's
summary code (e.g. intervals added since the run was made); the per-question scores stay as recorded,
nothing is asked or judged again, and the run's settings and wall time stay as they were."""

from __future__ import annotations

from typing import Any

from rag.config import Settings
from rag.eval.report import Report, write_report
from rag.eval.runs import RunDir


Summarized = tuple[dict[str, Any], Report]  # a run's metrics and its report


def refresh_run(run: RunDir, settings: Settings) -> dict[str, Any]:
    """Summarise the run's results again, write summary.json and the reports; returns the new summary.
    Refused while an evaluation is writing the run (its next checkpoint would overwrite this anyway)."""
    config = run.config()  # not a run folder: said before anything is written there
    with run.exclusive():
        records = run.results()
        summary = run.summary()
        summarize = {"qa": _qa, "retrieval": _retrieval}.get(config.get("mode"), _factcheck)
        metrics, report = summarize(config, records, settings, summary.get("dataset") or config["dataset"])
        summary |= {"items": len(records), "metrics": metrics}
        run.write_summary(summary)
        write_report(run, report, summary)
    return summary


def _qa(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    from rag.eval.qa import qa_report, summarize_qa
    from rag.eval.suites import qa_dataset

    data = qa_dataset(settings, config["dataset"], config["collection"])  # for its labels (PubMedQA's macro-F1)
    metrics = summarize_qa(records, data.labels, config["k"])
    return metrics, qa_report(name, config, records, metrics, config["k"])


def _retrieval(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    from rag.eval.retrieval import retrieval_report, summarize_retrieval

    metrics = summarize_retrieval(records, config["k"])
    return metrics, retrieval_report(name, config, records, metrics, config["k"])


def _factcheck(config: dict[str, Any], records: list[dict[str, Any]], settings: Settings, name: str) -> Summarized:
    from rag.eval.factcheck import factcheck_report, summarize_factcheck

    metrics = summarize_factcheck(records, config["threshold"])
    return metrics, factcheck_report(name, config, records, metrics, config["threshold"])
