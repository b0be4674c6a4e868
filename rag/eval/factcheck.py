"""The fact-checker scored on labelled (claim, source) datasets: WiCE, BEGIN and HaluEval.

Every row is judged exactly as an answer sentence is: the checker, its calibration (fitted on BEGIN dev,
never on these test sets), then the lexical guard. A claim with several rows (WiCE:
one per annotator's oracle chunk) scores the maximum over them, as WiCE's authors prescribe.
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

from rag.calibration import Calibration
from rag.check import Checker, guarded_support
from rag.config import Settings
from rag.eval.metrics import balanced_accuracy, best_threshold, bootstrap_interval, latency_percentiles, roc_auc
from rag.eval.harness import answers_all
from rag.eval.qa_data import json_lines, reading_eval_data
from rag.eval.report import SCORE_SPAN, Histogram, Report
from rag.types import Judgement


@dataclass(frozen=True)
class FactCheckItem:
    id: str
    claim_id: str  # rows of one claim share it; the claim scores the maximum over them
    claim: str
    source: str
    supported: bool
    context: str = ""  # read by the judge before the claim (HaluEval: the question); the guard checks the claim only
    group: str = ""  # claims that stand or fall together in an interval (HaluEval: one question's two answers)

    @property
    def judged_text(self) -> str:
        return self.context + self.claim


def wice_items(root: Path) -> list[FactCheckItem]:
    """WiCE test, oracle-chunk variant: supported vs partially/not supported."""
    items = []
    for row_number, row in enumerate(json_lines(root / "wice/oracle_chunks/claim/test.jsonl")):
        claim_id = row["meta"]["id"]
        items.append(FactCheckItem(f"{claim_id}#{row_number}", claim_id, row["claim"],
                                   " ".join(row["evidence"]), row["label"] == "supported"))
    return items


BEGIN_TEST = ("wow/begin_test_wow.tsv",)
BEGIN_DEV = ("cmu-dog/begin_dev_cmu.tsv", "topicalchat/begin_dev_tc.tsv", "wow/begin_dev_wow.tsv")


def begin_items(root: Path, files: tuple[str, ...] = BEGIN_TEST) -> list[FactCheckItem]:
    """BEGIN (test: WoW, the only test file in the data; dev is kept for calibration): 'Fully attributable'
    vs 'Not fully attributable'; 'Generic' rows say nothing checkable and are dropped."""
    csv.field_size_limit(1 << 24)
    items = []
    for name in files:
        with open(root / "begin" / name, newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle, delimiter="\t")):
                if row["begin_label"] != "Generic":
                    key = f"{Path(name).stem}:{number}"
                    items.append(FactCheckItem(key, key, row["response"], row["knowledge"],
                                               row["begin_label"] == "Fully attributable"))
    return items


def halueval_items(root: Path) -> list[FactCheckItem]:
    """HaluEval QA: per question, the right answer (supported) and the one-turn hallucinated answer (not).
    The judge reads the question with the answer; the lexical guard checks the answer's own names and numbers
    (a name in the question is not a claim of the answer)."""
    items = []
    for number, row in enumerate(json_lines(root / "halueval-qa-500/qa_one-turn_data.json")):
        question = row["question"].strip()
        for kind, answer, supported in (("right", row["right_answer"], True),
                                        ("hallucinated", row["hallucinated_answer"], False)):
            key = f"q{number}:{kind}"
            items.append(FactCheckItem(key, key, answer, row["knowledge"], supported,
                                       context=f"Question: {question} Answer: ", group=f"q{number}"))
    return items


FACTCHECK_DATASETS: dict[str, Callable[[Path], list[FactCheckItem]]] = {
    "wice": wice_items, "begin": begin_items, "halueval": halueval_items}


def sample_claims(items: list[FactCheckItem], limit: int | None, seed: int) -> list[FactCheckItem]:
    """All rows of ``limit`` claims drawn at random with ``seed`` (all claims when limit is None)."""
    claim_ids = list(dict.fromkeys(item.claim_id for item in items))
    if limit is not None and limit < len(claim_ids):
        chosen = set(random.Random(seed).sample(claim_ids, limit))
        return [item for item in items if item.claim_id in chosen]
    return items


def judge_item(checker: Checker, item: FactCheckItem, calibration: Calibration) -> dict[str, Any]:
    """One results line: the checker's raw scores for the row; "score" is the calibrated, guarded support
    the product uses."""
    started = time.perf_counter()
    judged = checker.judge([(item.judged_text, item.source)])[0]
    return {"id": item.id, "claim_id": item.claim_id, "group": item.group or item.claim_id,
            "supported": item.supported, **judgement_fields(judged),
            **scored_fields(item, judged, calibration), "seconds": round(time.perf_counter() - started, 3),
            "claim": item.judged_text[:300]}


def judgement_fields(judged: Judgement) -> dict[str, float]:
    """The checker's raw judgement as a results line stores it (read back by ``stored_judgement``)."""
    fields = {"checker_support": round(judged.support, 5), "contradict": round(judged.contradict, 5)}
    return fields | ({} if judged.weakest_gain is None else {"weakest_gain": round(judged.weakest_gain, 4)})


def stored_judgement(record: dict[str, Any]) -> Judgement:
    """The raw judgement of a results line (written by ``judgement_fields``)."""
    # "support": bench/calibrate_checker.py's score files from before judgements were Judgement objects
    support = record["checker_support"] if "checker_support" in record else record["support"]
    contradict = record["contradict"]
    return Judgement(support, contradict, weakest_gain=record.get("weakest_gain"))


def scored_fields(item: FactCheckItem, judged: Judgement, calibration: Calibration) -> dict[str, Any]:
    """A row's "score" (the checker's judgement, calibrated, after the lexical guard: as the product
    scores a sentence) and "missing"."""
    calibrated = calibration.score(item.claim, item.source, judged)
    guarded, missing = guarded_support(item.claim, item.source, calibrated, calibration.threshold)
    return {"score": round(guarded, 5), "missing": missing}


def claim_scores(records: list[dict[str, Any]]) -> list[tuple[str, bool, float]]:
    """(claim id, label, support) per claim: the maximum support over the claim's rows."""
    by_claim: dict[str, tuple[bool, float]] = {}
    for record in records:
        label, best = by_claim.get(record["claim_id"], (record["supported"], float("-inf")))
        by_claim[record["claim_id"]] = (label, max(best, record["score"]))
    return [(claim_id, label, score) for claim_id, (label, score) in by_claim.items()]


def claim_groups(records: list[dict[str, Any]], claims: list[tuple[str, bool, float]]) -> list[list[int]]:
    """The positions in ``claims`` of each group's claims: the unit an interval resamples (a line without a
    group, written before groups were recorded, is its own)."""
    group_of = {record["claim_id"]: record.get("group", record["claim_id"]) for record in records}
    members: dict[str, list[int]] = {}
    for position, (claim_id, _, _) in enumerate(claims):
        members.setdefault(group_of[claim_id], []).append(position)
    return list(members.values())


def grouped_interval(labels: list[bool], predictions: list[bool], groups: list[list[int]]) -> list[float] | None:
    """95% bootstrap interval of the balanced accuracy, resampling whole groups of claims."""
    def statistic(sample: Sequence[int]) -> float:
        drawn = [i for group in sample for i in groups[group]]
        return balanced_accuracy([labels[i] for i in drawn], [predictions[i] for i in drawn])

    return bootstrap_interval(statistic, len(groups))


def summarize_factcheck(records: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Balanced accuracy at the calibrated threshold (with a 95% bootstrap interval over the claims, or over
    the groups of claims that belong together), ROC AUC, and seconds per row and per claim."""
    claims = claim_scores(records)
    labels, scores = [label for _, label, _ in claims], [score for _, _, score in claims]
    metrics: dict[str, Any] = {"claims": len(claims), "rows": len(records),
                               "supported_claims": sum(labels), "threshold": threshold}
    if 0 < sum(labels) < len(labels):
        tuned, tuned_accuracy = best_threshold(labels, scores)
        predictions = [s >= threshold for s in scores]
        metrics |= {"balanced_accuracy": round(balanced_accuracy(labels, predictions), 4),
                    "balanced_accuracy_ci95": grouped_interval(labels, predictions, claim_groups(records, claims)),
                    "roc_auc": round(roc_auc(labels, scores), 4),
                    "oracle_threshold": tuned, "oracle_balanced_accuracy": round(tuned_accuracy, 4)}
    seconds = [record["seconds"] for record in records]
    metrics |= latency_percentiles("seconds_per_row", seconds)
    metrics["seconds_per_claim_mean"] = round(sum(seconds) / max(len(claims), 1), 3)
    return metrics


@dataclass
class FactCheckSuite:
    """A fact-check dataset through the harness: one results line per (claim, source) row."""

    dataset: str
    items: list[FactCheckItem]
    checker: Checker
    calibration: Calibration

    def config(self) -> dict[str, Any]:
        return {"mode": "fact-check", "checker": self.checker.name, **self.calibration.record()}

    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    def run_item(self, item_id: str) -> dict[str, Any]:
        return judge_item(self.checker, self._by_id[item_id], self.calibration)

    def complete(self, records: list[dict[str, Any]]) -> bool:
        return answers_all(self, records)

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return summarize_factcheck(records, self.calibration.threshold)

    def report(self, records: list[dict[str, Any]], metrics: dict[str, Any]) -> Report:
        return factcheck_report(self.dataset, self.config(), records, metrics, self.calibration.threshold)

    @cached_property
    def _by_id(self) -> dict[str, FactCheckItem]:
        return {item.id: item for item in self.items}


def factcheck_report(dataset: str, config: dict[str, Any], records: list[dict[str, Any]], metrics: dict[str, Any],
                     threshold: float) -> Report:
    claims = claim_scores(records)
    histograms = (
        Histogram("support", "support score per claim (max over its rows)",
                  {"supported": [s for _, label, s in claims if label],
                   "not supported": [s for _, label, s in claims if not label]}, span=SCORE_SPAN),
        Histogram("latency", "seconds per row", {"rows": [r["seconds"] for r in records]}))
    rows = tuple({**r, "correct": (r["score"] >= threshold) == r["supported"]} for r in records)
    return Report(f"Fact-check evaluation: {dataset}", config, metrics, histograms,
                  factcheck_columns(records), rows)


def factcheck_columns(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """The per-row table's columns; the weakest gain only when the checker measured it (judge+gain)."""
    gain = ("weakest_gain",) if any("weakest_gain" in record for record in records) else ()
    return ("id", "supported", "score", "checker_support", *gain, "correct", "missing", "seconds", "claim")


def factcheck_suite(dataset: str, settings: Settings, limit: int | None, seed: int) -> FactCheckSuite:
    """The checker the product would use (settings.checker, on settings.model) with its calibration."""
    from rag.calibration import calibration_for
    from rag.pipeline import make_checker, shared_generator

    with reading_eval_data(settings.eval_data, dataset):
        items = sample_claims(FACTCHECK_DATASETS[dataset](settings.eval_data), limit, seed)
    checker = make_checker(settings.checker, shared_generator(settings), settings.device)
    return FactCheckSuite(dataset, items, checker, calibration_for(checker.name))
