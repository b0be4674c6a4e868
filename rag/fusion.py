"""Pure functions for combining and cleaning ranked results."""

from __future__ import annotations

import re
from typing import Callable, Hashable, Sequence, TypeVar

Key = TypeVar("Key", bound=Hashable)
Group = TypeVar("Group", bound=Hashable)
_WORD = re.compile(r"\w+")


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Key]], k: int = 60) -> list[tuple[Key, float]]:
    """Fuse rankings by reciprocal rank: score(d) = sum over rankings of 1 / (k + rank), rank from 1.

    Ties keep the order in which keys were first seen.

    >>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    scores: dict[Key, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def group_order(ranking: Sequence[Key], group_of: Callable[[Key], Group]) -> list[Group]:
    """The groups of a ranking's keys, each once, in the order of its best-ranked key.

    >>> group_order(["a1", "b1", "a2", "c1"], lambda key: key[0])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(group_of(key) for key in ranking))


def lift_by_group(scored: Sequence[tuple[Key, float]], group_of: Callable[[Key], Group | None],
                  groups: Sequence[Group], k: int = 60) -> list[tuple[Key, float]]:
    """Each key's score plus ``1 / (k + rank)`` of its group among ``groups`` (best first; keys of other
    groups get nothing), re-sorted: a reciprocal-rank prior that lifts every key of the best groups alike,
    so their order within a group is kept. Ties keep the given order.

    >>> lifted = lift_by_group([("b1", 0.02), ("a1", 0.015), ("a2", 0.01)], lambda key: key[0], ["a"], k=60)
    >>> [(key, round(score, 4)) for key, score in lifted]
    [('a1', 0.0314), ('a2', 0.0264), ('b1', 0.02)]
    """
    lift = {group: 1.0 / (k + rank) for rank, group in enumerate(groups, start=1)}
    lifted = [(key, score + lift.get(group_of(key), 0.0)) for key, score in scored]
    return sorted(lifted, key=lambda item: -item[1])


def shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    """Word n-grams of a lower-cased text (the whole text when it is shorter than ``size`` words).

    >>> sorted(shingles("A b c d", 3))
    [('a', 'b', 'c'), ('b', 'c', 'd')]
    """
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i:i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """|a & b| / |a | b|, 1.0 for two empty sets.

    >>> jaccard(frozenset({1, 2}), frozenset({2, 3}))
    0.3333333333333333
    """
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def drop_near_duplicates(texts: Sequence[str], threshold: float = 0.8) -> list[int]:
    """Indices of the texts to keep, in order: a text too similar to a kept earlier one is dropped.

    >>> drop_near_duplicates(["net sales rose 5 percent", "net sales rose 5 percent", "other news"])
    [0, 2]
    """
    kept: list[int] = []
    kept_shingles: list[frozenset] = []
    for index, text in enumerate(texts):
        current = shingles(text)
        if all(jaccard(current, earlier) < threshold for earlier in kept_shingles):
            kept.append(index)
            kept_shingles.append(current)
    return kept
