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
