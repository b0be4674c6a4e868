"""Retrieval metrics as pure functions over ranked document ids."""

from __future__ import annotations

from typing import Sequence


def unique_in_order(items: Sequence[str]) -> list[str]:
    """Distinct items, first occurrence order.

    >>> unique_in_order(["a", "b", "a", "c"])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(items))


def recall_at_k(ranked_docs: Sequence[str], gold_docs: Sequence[str], k: int) -> float:
    """Share of the gold documents found among the first ``k`` distinct ranked documents.

    >>> recall_at_k(["a", "a", "b", "c"], ["b", "d"], k=2)
    0.5
    """
    if not gold_docs:
        raise ValueError("recall needs at least one gold document")
    top = set(unique_in_order(ranked_docs)[:k])
    return len(top & set(gold_docs)) / len(set(gold_docs))


def hit_at_k(ranked_docs: Sequence[str], gold_docs: Sequence[str], k: int) -> float:
    """1.0 if any gold document is among the first ``k`` distinct ranked documents.

    >>> hit_at_k(["x", "b"], ["b"], k=1), hit_at_k(["x", "b"], ["b"], k=2)
    (0.0, 1.0)
    """
    return 1.0 if set(unique_in_order(ranked_docs)[:k]) & set(gold_docs) else 0.0


def reciprocal_rank(ranked_docs: Sequence[str], gold_docs: Sequence[str]) -> float:
    """1 / rank of the first gold document among distinct ranked documents (0 if absent).

    >>> reciprocal_rank(["x", "x", "y", "b"], ["b"])
    0.3333333333333333
    """
    for rank, doc in enumerate(unique_in_order(ranked_docs), start=1):
        if doc in set(gold_docs):
            return 1.0 / rank
    return 0.0


def balanced_accuracy(labels: Sequence[bool], predictions: Sequence[bool]) -> float:
    """Mean of the true-positive rate and the true-negative rate.

    >>> balanced_accuracy([True, True, False, False], [True, False, False, False])
    0.75
    """
    positives = [p for label, p in zip(labels, predictions) if label]
    negatives = [not p for label, p in zip(labels, predictions) if not label]
    if not positives or not negatives:
        raise ValueError("balanced accuracy needs both classes")
    return (sum(positives) / len(positives) + sum(negatives) / len(negatives)) / 2


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half).

    >>> roc_auc([True, False, True, False], [0.9, 0.1, 0.4, 0.4])
    0.875
    """
    positives = [s for label, s in zip(labels, scores) if label]
    negatives = [s for label, s in zip(labels, scores) if not label]
    if not positives or not negatives:
        raise ValueError("ROC AUC needs both classes")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def best_threshold(labels: Sequence[bool], scores: Sequence[float]) -> tuple[float, float]:
    """(threshold, balanced accuracy) maximising balanced accuracy of ``score >= threshold``;
    the threshold is the midpoint between neighbouring distinct scores.

    >>> best_threshold([False, False, True, True], [0.1, 0.3, 0.6, 0.8])
    (0.45, 1.0)
    """
    distinct = sorted(set(scores))
    cuts = [distinct[0] - 1e-9] + [(a + b) / 2 for a, b in zip(distinct, distinct[1:])]
    rated = [(balanced_accuracy(labels, [s >= cut for s in scores]), -abs(cut - 0.5), cut) for cut in cuts]
    accuracy, _, cut = max(rated)
    return round(cut, 4), accuracy


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share``-th percentile (0-100) with linear interpolation between ranks; 0.0 for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([5.0], 95), percentile([0.0, 10.0], 95)
    (2.5, 5.0, 9.5)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * share / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 4)
