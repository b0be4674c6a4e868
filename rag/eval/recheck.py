"""`rag eval recheck RUN`: the answers of a finished (or interrupted) QA run checked again by today's checker
and calibration, without generating them again.

Generating is ~90% of a question's time on a CPU, and the check does not change what was generated (with
the `flag` policy the answer is kept whole), so a checker or calibration change is measured on the very
same answers in minutes instead of hours. The new run folder holds the same kind of results lines and
reports; its config names the run the answers came from (`answers_from`) and the prompts they were made
with (`answers_prompts`). Retrieval and generation timings are the source run's; "check" is measured anew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from rag.check import Checker, CheckSettings, calibration_in_use, check_answer
from rag.claims import abstains
from rag.config import Settings
from rag.eval.harness import EvalOptions, answers_all
from rag.eval.qa import answer_record, qa_report, summarize_qa
from rag.eval.questions import questions_fingerprint
from rag.eval.qa_data import QADataset, QAItem
from rag.eval.report import Report
from rag.eval.runs import RunDir
from rag.types import Answer, Chunk, Evidence, Passage, Sentence

RECHECKABLE_POLICIES = ("flag", "off")  # strict drops sentences and regenerate replaces answers: not recoverable


def answer_from_record(record: dict[str, Any], model: str) -> Answer:
    """The answer as generated, before any check: an abstention only if the model itself abstained, by
    today's rule (it refuses and makes no claim), whatever the run's code decided."""
    sentences = tuple(Sentence(s["text"], tuple(s["citations"])) for s in record["sentences"])
    return Answer(record["question"], record["answer"], abstains([s.text for s in sentences]), sentences,
                  _recorded_passages(record), model, dict(record["timings_ms"]))


def recorded_answer(record: dict[str, Any], model: str) -> Answer:
    """The answer as the results line holds it: checked, with its verdicts, scores, evidence (lines written
    since 2026-11-28 record it) and its final abstention."""
    sentences = tuple(Sentence(s["text"], tuple(s["citations"]), s["verdict"], s.get("score"),
                               Evidence(**s["evidence"]) if s.get("evidence") else None) for s in record["sentences"])
    return Answer(record["question"], record["answer"], record["abstained"], sentences, _recorded_passages(record),
                  model, dict(record["timings_ms"]))


def _recorded_passages(record: dict[str, Any]) -> tuple[Passage, ...]:
    return tuple(Passage(Chunk(f"p{n}", p["doc"], p["page"], 0, len(p["text"]), p["text"]), p["score"])
                 for n, p in enumerate(record["passages"], start=1))


@dataclass
class RecheckSuite:
    """Every results line of ``source`` with its answer checked again by ``checker``."""

    source: RunDir
    data: QADataset
    checker: Checker
    check: CheckSettings = CheckSettings()

    @property
    def dataset(self) -> str:
        return self.data.name

    @cached_property
    def _source_config(self) -> dict[str, Any]:
        return self.source.config()

    @cached_property
    def _records(self) -> dict[str, dict[str, Any]]:
        return {record["id"]: record for record in self.source.results()}

    def config(self) -> dict[str, Any]:
        source = self._source_config
        return {**source, "checker": self.checker.name, "check_policy": self.check.policy,
                **calibration_in_use(self.checker, self.check).record(),
                "answers_from": str(self.source.root.resolve()),
                "answers_prompts": source.get("answers_prompts", source["prompts"]),  # a recheck's source keeps its own
                "answers_code": source.get("answers_code", source["code"])}

    def item_ids(self) -> list[str]:
        return list(self._records)

    def run_item(self, item_id: str) -> dict[str, Any]:
        record = self._records[item_id]
        if "error" in record:  # a question the run could not answer (too long): nothing to check, kept as it is
            return record
        answer = answer_from_record(record, self._source_config["model"])
        started = time.perf_counter()
        checked = check_answer(answer, self.checker, self.check)
        check_ms = (time.perf_counter() - started) * 1000
        before = answer.timings_ms
        timings = before | {"check": round(check_ms, 1),
                            "total": round(before.get("total", 0.0) - before.get("check", 0.0) + check_ms, 1)}
        return answer_record(self._items[item_id], replace(checked, timings_ms=timings), self._source_config["k"])

    def complete(self, records: list[dict[str, Any]]) -> bool:
        """Every answer rechecked, and the source run had answered all its questions (else the recheck covers
        what it had; rechecking again after the source is resumed picks up its new answers)."""
        return answers_all(self, records) and bool(self.source.summary().get("complete"))

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return summarize_qa(records, self.data.labels, self._source_config["k"])

    def report(self, records: list[dict[str, Any]], metrics: dict[str, Any]) -> Report:
        return qa_report(self.data.name, self.config(), records, metrics, self._source_config["k"])

    @cached_property
    def _items(self) -> dict[str, QAItem]:
        return {item.id: item for item in self.data.items}


def recheck_suite(source: RunDir, settings: Settings, other_checker: bool = False) -> tuple[RecheckSuite, EvalOptions]:
    """The suite over a QA run's answers, with the options (dataset, sample) the run was made with. The checker
    is settings' (its calibration today's); unless other_checker, it must be the one the run was checked by."""
    from rag.eval.suites import qa_dataset
    from rag.pipeline import make_checker, shared_generator

    config = source.config()
    if config.get("mode") != "qa":
        raise ValueError(f"{source.root} is not a question-answering run: only their answers can be rechecked")
    if config.get("check_policy") not in RECHECKABLE_POLICIES:
        raise ValueError(f"{source.root} was checked with policy {config.get('check_policy')!r}, which changes "
                         f"the answers; only {' or '.join(RECHECKABLE_POLICIES)} runs can be rechecked")
    data = qa_dataset(settings, config["dataset"], config["collection"])
    if questions_fingerprint(data.items) != config["questions"]:
        raise ValueError(f"the questions of {config['dataset']} changed since {source.root} was made")
    checker = make_checker(settings.checker, shared_generator(settings), settings.device)
    if checker.name != config["checker"] and not other_checker:
        raise ValueError(f"{source.root} was checked by {config['checker']}, and the checker now is {checker.name}: "
                         "pass --model / --checker to recheck it with another checker, or the ones it was made with")
    options = EvalOptions(config["dataset"], config["limit"], config["seed"])
    return RecheckSuite(source, data, checker), options


def default_recheck_dir(source: RunDir) -> Path:
    return source.root.with_name(f"{source.root.name}-rechecked")
