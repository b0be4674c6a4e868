"""Question answering through the harness: every question asked of the full pipeline (retrieve, generate,
check), scored per item, then summarised (see ``summarize_qa`` for the metrics)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from rag.check import calibration_in_use
from rag.citations import strip_citations
from rag.eval.metrics import (answer_contained, exact_match, latency_percentiles, macro_f1, mean, mean_interval,
                              precision_recall, rouge_l, token_f1)
from rag.eval.harness import answers_all
from rag.eval.qa_data import QADataset, QAItem
from rag.eval.questions import (asked_items, collection_config, item_references, passage_records,
                                retrieval_scores)
from rag.eval.report import SCORE_SPAN, Histogram, Report
from rag.pipeline import AskOptions, Pipeline, QuestionTooLong
from rag.types import CLAIM_VERDICTS, Answer

STAGES = ("retrieve", "first_token", "generate", "check", "total")
ANSWER_QUALITY = ("em", "f1", "contains", "rouge_l", "label_correct")  # averaged over answerable questions only
_CITATIONS = r"(?:\[[\d,;\s\u2013-]+\]\s*)*"  # "[1]", "[1, 2]", "[1-3]" after the label word
_LABEL_FIRST = re.compile(rf"^\W*(yes|maybe|no(?=[*_]*\s*{_CITATIONS}(?:[.;:!?,\n\u2013\u2014-]|$)))\b", re.IGNORECASE)
_LABEL_ALONE = re.compile(rf"(?:^|[.;:!?,])\s*(yes|no|maybe)\s*{_CITATIONS}(?:[.;:!?,]|$)", re.IGNORECASE)


def predicted_label(answer: Answer) -> str | None:
    """The answer's yes / no / maybe: its first word, as the question asks ("no" only before punctuation:
    "No data are available." starts with a determiner), else a label word standing alone between punctuation
    ("It is unclear; maybe [1]."); None otherwise, since a label word inside a sentence ("There is no data",
    "the no-reflow phenomenon") is not one. Also read when the checker turned the answer into an abstention:
    the label is what the model said.

    >>> [predicted_label(Answer("q", text, False, (), (), "m")) for text in (
    ...     "Yes, it does [1].", "No [2]. It fell.", "**No**, it did not.", "No \u2014 it fell.", "It is unclear; maybe [1].",
    ...     "There is no data.", "No data are available.", "The no-reflow rate fell.", "No [1-3]. It fell.",
    ...     "It is unclear; maybe [1, 2].")]
    ['yes', 'no', 'no', 'no', 'maybe', None, None, None, 'no', 'maybe']
    """
    found = _LABEL_FIRST.search(answer.text) or _LABEL_ALONE.search(answer.text)
    return found.group(1).lower() if found else None


def checked_claims(answer: Answer) -> list[str]:
    return [s.verdict for s in answer.sentences if s.verdict in CLAIM_VERDICTS]


def cited_sentences_correct(answer: Answer) -> list[bool]:
    """Per sentence with citations: is it supported, and by a passage it cites?"""
    return [s.verdict == "supported" and s.evidence is not None and s.evidence.passage in s.citations
            for s in answer.sentences if s.citations and s.verdict in CLAIM_VERDICTS]


def score_answer(item: QAItem, answer: Answer, k: int) -> dict[str, Any]:
    """The per-item metrics that apply to this item; "score" is its primary one (for compare)."""
    scores: dict[str, Any] = {"abstained": answer.abstained}
    if item.gold_docs:
        scores |= retrieval_scores(answer.passages, item.gold_docs, k)
    text = "" if answer.abstained else strip_citations(answer.text)  # "[1]" is not part of the answer
    if item.answers:
        scores |= {"em": exact_match(text, item.answers), "f1": round(token_f1(text, item.answers), 4),
                   "contains": answer_contained(text, item.answers)}
    if item.reference:
        scores["rouge_l"] = round(max(rouge_l(text, r) for r in (item.reference, *item.other_references)), 4)
    if item.label:
        scores |= {"predicted_label": predicted_label(answer), "label_correct": float(predicted_label(answer) == item.label)}
    verdicts = checked_claims(answer)
    if verdicts:
        scores["faithfulness"] = round(verdicts.count("supported") / len(verdicts), 4)
    scores["score"] = _primary(item, scores)
    return scores


def rescored(record: dict[str, Any], item: QAItem, answer: Answer, k: int) -> dict[str, Any]:
    """A results line with ``score_answer``'s metrics replaced by today's (none left over from older code),
    and its citation correctness too when the line records each sentence's evidence."""
    produced = {"em", "f1", "contains", "rouge_l", "predicted_label", "label_correct", "faithfulness", "score",
                "rr", f"recall@{k}"}
    kept = {key: value for key, value in record.items() if key not in produced}
    if all("evidence" in sentence for sentence in record["sentences"]):
        kept["cited_correct"] = cited_sentences_correct(answer)
    return kept | score_answer(item, answer, k)


def _primary(item: QAItem, scores: dict[str, Any]) -> float:
    if not item.answerable:
        return float(scores["abstained"])
    for name in ("label_correct", "f1", "rouge_l"):
        if name in scores:
            return scores[name]
    return scores.get("faithfulness", 0.0)


def summarize_qa(records: list[dict[str, Any]], labels: tuple[str, ...], k: int) -> dict[str, Any]:
    """Means of the per-item metrics (each with a 95% bootstrap interval over the questions, "<name>_ci95"),
    label accuracy and macro-F1, abstention precision/recall (positive = should abstain), faithfulness,
    citation precision, and latency p50/p95 per stage (seconds)."""
    metrics: dict[str, Any] = {"questions": len(records)}
    retrieval = (f"recall@{k}", "rr")  # a failed question recorded no passages: not a retrieval miss
    for name in (*retrieval, "em", "f1", "contains", "rouge_l", "label_correct", "faithfulness"):
        values = [r[name] for r in records if name in r and (name not in ANSWER_QUALITY or r["answerable"])
                  and not (name in retrieval and "error" in r)]
        if values:
            shown = "mrr" if name == "rr" else name
            metrics |= {shown: mean(values), f"{shown}_ci95": mean_interval(values)}
    labelled = [r for r in records if "label_correct" in r and r["answerable"]]  # label accuracy's questions
    if labels and labelled:
        metrics["label_macro_f1"] = round(macro_f1([r["label"] for r in labelled],
                                                   [r.get("predicted_label") or "" for r in labelled], labels), 4)
    abstained = [float(r["abstained"]) for r in records]
    metrics |= {"abstention_rate": mean(abstained), "abstention_rate_ci95": mean_interval(abstained)}
    if any(not r["answerable"] for r in records):
        precision, recall = precision_recall([not r["answerable"] for r in records], [r["abstained"] for r in records])
        metrics |= {"abstention_precision": round(precision, 4), "abstention_recall": round(recall, 4)}
    cited = [ok for r in records for ok in r["cited_correct"]]
    metrics["citation_precision"] = mean([float(ok) for ok in cited])
    metrics["failed"] = sum("error" in r for r in records) or None  # questions no passage fitted beside
    for stage in STAGES:
        metrics |= latency_percentiles(f"{stage}_s", stage_seconds(records, stage))
    return {name: value for name, value in metrics.items() if value is not None}


def stage_seconds(records: list[dict[str, Any]], stage: str) -> list[float]:
    """Seconds each answered question spent in ``stage`` (failed questions, which never ran, left out)."""
    return [r["timings_ms"].get(stage, 0.0) / 1000 for r in records if "error" not in r]


@dataclass
class QASuite:
    """A question-answering dataset through the harness over its own collection."""

    data: QADataset
    pipeline: Pipeline
    options: AskOptions
    limit: int | None = None
    seed: int = 7

    @property
    def dataset(self) -> str:
        return self.data.name

    def config(self) -> dict[str, Any]:
        """What makes two runs comparable: a resume with anything else here is refused."""
        return {"mode": "qa", "model": self.pipeline.generator.name, "checker": getattr(self.pipeline.checker, "name", None),
                "k": self.options.k, "retrieval": self.options.mode, "check_policy": self.options.check.policy,
                "question_suffix": self.data.question_suffix, **self._calibration(),
                **collection_config(self.pipeline.retriever.collection, self.data.items)}

    def _calibration(self) -> dict[str, Any]:
        """The threshold and weights verdicts use (None when nothing is checked): a recalibration is another run."""
        checker = self.pipeline.checker
        if checker is None or self.options.check.policy == "off":
            return {"threshold": None, "weights": None}
        return calibration_in_use(checker, self.options.check).record()

    @cached_property
    def _items(self) -> dict[str, QAItem]:
        return {item.id: item for item in asked_items(self.data.items, self.limit, self.seed)}

    def item_ids(self) -> list[str]:
        return list(self._items)

    def run_item(self, item_id: str) -> dict[str, Any]:
        """The item's results line; a question too long to answer from any passage is recorded as a failure
        (no answer, an "error"), so it neither ends the run nor stops every resume at the same question."""
        item = self._items[item_id]
        try:
            answer = self.pipeline.answer(item.question + self.data.question_suffix, self.options)
        except QuestionTooLong as error:
            nothing = Answer(item.question, "", True, (), (), self.pipeline.generator.name)
            return answer_record(item, nothing, self.options.k) | {"error": str(error)}
        return answer_record(item, answer, self.options.k)

    def complete(self, records: list[dict[str, Any]]) -> bool:
        return answers_all(self, records)

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return summarize_qa(records, self.data.labels, self.options.k)

    def report(self, records: list[dict[str, Any]], metrics: dict[str, Any]) -> Report:
        return qa_report(self.data.name, self.config(), records, metrics, self.options.k)


def answer_record(item: QAItem, answer: Answer, k: int) -> dict[str, Any]:
    """One results line: the answer, its sentences with verdicts, its passages, timings and scores."""
    return {"id": item.id, "question": item.question, "gold_docs": list(item.gold_docs), "answer": answer.text,
            "sentences": [{"text": s.text, "citations": list(s.citations), "verdict": s.verdict, "score": s.score,
                           "evidence": None if s.evidence is None else asdict(s.evidence)} for s in answer.sentences],
            "passages": passage_records(answer.passages),
            "cited_correct": cited_sentences_correct(answer), "timings_ms": answer.timings_ms,
            **item_references(item), **score_answer(item, answer, k)}


def qa_report(dataset: str, config: dict[str, Any], records: list[dict[str, Any]], metrics: dict[str, Any],
              k: int) -> Report:
    title = f"QA evaluation{' (answers rechecked)' if 'answers_from' in config else ''}: {dataset}"
    histograms = (
        Histogram("scores", "per-question score (label correct / F1 / ROUGE-L / abstained when unanswerable)",
                  {"answerable": [r["score"] for r in records if r["answerable"]],
                   "unanswerable": [r["score"] for r in records if not r["answerable"]]}, span=SCORE_SPAN),
        Histogram("latency", "seconds per question, by stage",
                  {stage: stage_seconds(records, stage) for stage in ("generate", "check", "total")}))
    rows = tuple({**r, "answer": r["answer"][:200]} for r in records)
    columns = ("id", "question", "answer", "score", "abstained", "faithfulness", f"recall@{k}")
    return Report(title, config, metrics, histograms, columns, rows)
