"""`rag eval compare RUN_A RUN_B`: metric by metric and question by question differences of two runs."""

from __future__ import annotations

from dataclasses import dataclass
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
class Comparison:
    metrics: tuple[MetricChange, ...]
    items: tuple[ItemChange, ...]  # items in both runs whose score differs
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    score_change: ScoreChange | None = None  # QA and retrieval runs: a fact-check row's score is a support score
    same_kind: bool = True  # False: a QA run against a retrieval run, say; their per-item scores differ in kind


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
    records_a, records_b = run_a.results(), run_b.results()
    ids_a, ids_b = {r["id"] for r in records_a}, {r["id"] for r in records_b}
    modes = {run.config().get("mode") for run in (run_a, run_b)}
    paired = len(modes) == 1 and modes <= set(PER_QUESTION_MODES)  # one kind of per-question score in both
    return Comparison(tuple(compare_metrics(run_a.summary()["metrics"], run_b.summary()["metrics"])),
                      tuple(compare_items(records_a, records_b)) if len(modes) == 1 else (),
                      tuple(sorted(ids_a - ids_b)), tuple(sorted(ids_b - ids_a)),
                      score_change(records_a, records_b) if paired else None, len(modes) == 1)


def _paired_scores(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(id, score in A, score in B) for the items in both runs, in A's order."""
    scores_b = {record["id"]: record["score"] for record in b}
    return [(r["id"], r["score"], scores_b[r["id"]]) for r in a if r["id"] in scores_b]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
