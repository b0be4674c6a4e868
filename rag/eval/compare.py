"""`rag eval compare RUN_A RUN_B`: metric by metric and question by question differences of two runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rag.eval.metrics import mean, mean_interval
from rag.eval.runs import RunDir


@dataclass(frozen=True)
class MetricChange:
    name: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else round(self.b - self.a, 6)


@dataclass(frozen=True)
class ItemChange:
    id: str
    a: float
    b: float


@dataclass(frozen=True)
class ScoreChange:
    """The mean change B - A of the per-question score over the questions both runs answered."""

    questions: int
    mean: float
    ci95: list[float] | None  # paired bootstrap over the questions


PER_QUESTION_MODES = ("qa", "retrieval")  # runs whose per-item "score" is a question's quality


@dataclass(frozen=True)
class RunSize:
    """How many items a run's results hold, and how many its summary.json (and so its metrics) covers."""

    results: int
    summarized: int


@dataclass(frozen=True)
class Comparison:
    metrics: tuple[MetricChange, ...]
    items: tuple[ItemChange, ...]  # items in both runs whose score differs
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    score_change: ScoreChange | None = None  # QA and retrieval runs: a fact-check row's score is a support score
    same_kind: bool = True  # False: a QA run against a retrieval run, say; their per-item scores differ in kind
    same_questions: bool = True  # False: another dataset or question file, so item ids name other questions
    sizes: tuple[RunSize, RunSize] | None = None

    @property
    def paired(self) -> bool:
        """Whether the items of A and B are the same questions scored alike, so they are compared one by one."""
        return self.same_kind and self.same_questions


def compare_metrics(a: dict[str, Any], b: dict[str, Any]) -> list[MetricChange]:
    """Every numeric metric of either run, with its value in each (None where a run lacks it).

    >>> [(c.name, c.delta) for c in compare_metrics({"f1": 0.5, "n": 3, "name": "x"}, {"f1": 0.75})]
    [('f1', 0.25), ('n', None)]
    """
    names = [k for k in dict.fromkeys([*a, *b]) if _number(a.get(k)) is not None or _number(b.get(k)) is not None]
    return [MetricChange(name, _number(a.get(name)), _number(b.get(name))) for name in names]


def compare_items(a: list[dict[str, Any]], b: list[dict[str, Any]], tolerance: float = 1e-9) -> list[ItemChange]:
    """Items in both runs whose per-item "score" differs, largest change first.

    >>> [(c.id, c.b) for c in compare_items([{"id": "q1", "score": 1.0}, {"id": "q2", "score": 0.5}],
    ...                                    [{"id": "q1", "score": 0.0}, {"id": "q2", "score": 0.5}])]
    [('q1', 0.0)]
    """
    changes = [ItemChange(item_id, score_a, score_b) for item_id, score_a, score_b in _paired_scores(a, b)
               if abs(score_a - score_b) > tolerance]
    return sorted(changes, key=lambda change: -abs(change.b - change.a))


def score_change(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> ScoreChange | None:
    """Mean per-item score change B - A over the items in both runs, with a paired 95% bootstrap interval.

    >>> score_change([{"id": "q1", "score": 0.5}, {"id": "q2", "score": 0.0}], [{"id": "q1", "score": 1.0}])
    ScoreChange(questions=1, mean=0.5, ci95=None)
    """
    differences = [score_b - score_a for _, score_a, score_b in _paired_scores(a, b)]
    return ScoreChange(len(differences), mean(differences), mean_interval(differences)) if differences else None


def compare_runs(run_a: RunDir, run_b: RunDir) -> Comparison:
    """Metrics side by side; item by item only where both runs asked the same questions (same dataset and
    question file) and score items alike (the same mode)."""
    (records_a, records_b), (config_a, config_b) = (run_a.results(), run_b.results()), (run_a.config(), run_b.config())
    summary_a, summary_b = run_a.summary(), run_b.summary()
    comparison = Comparison(tuple(compare_metrics(summary_a["metrics"], summary_b["metrics"])), (), (), (),
                            same_kind=config_a.get("mode") == config_b.get("mode"),
                            same_questions=_same_questions(config_a, config_b),
                            sizes=(RunSize(len(records_a), summary_a.get("items", 0)),
                                   RunSize(len(records_b), summary_b.get("items", 0))))
    return _with_items(comparison, records_a, records_b, scored=config_a.get("mode") in PER_QUESTION_MODES)


def _same_questions(config_a: dict[str, Any], config_b: dict[str, Any]) -> bool:
    """By the hash of the questions where both runs have one (a JSONL file named another way, or copied, is
    the same dataset); else by the dataset's name (fact-check runs).

    >>> _same_questions({"dataset": "q.jsonl", "questions": "ab"}, {"dataset": "./q.jsonl", "questions": "ab"})
    True
    """
    if config_a.get("questions") and config_b.get("questions"):
        return config_a["questions"] == config_b["questions"]
    return config_a.get("dataset") == config_b.get("dataset")


def _with_items(comparison: Comparison, a: list[dict[str, Any]], b: list[dict[str, Any]], scored: bool) -> Comparison:
    """The ids only one run holds (same questions), the changed items and the paired score change (paired)."""
    if not comparison.same_questions:
        return comparison
    ids_a, ids_b = {r["id"] for r in a}, {r["id"] for r in b}
    comparison = replace(comparison, only_a=tuple(sorted(ids_a - ids_b)), only_b=tuple(sorted(ids_b - ids_a)))
    if not comparison.paired:
        return comparison
    return replace(comparison, items=tuple(compare_items(a, b)), score_change=score_change(a, b) if scored else None)


def _paired_scores(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(id, score in A, score in B) for the items in both runs, in A's order."""
    scores_b = {record["id"]: record["score"] for record in b}
    return [(r["id"], r["score"], scores_b[r["id"]]) for r in a if r["id"] in scores_b]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
