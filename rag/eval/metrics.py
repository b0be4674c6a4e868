"""Evaluation metrics as pure functions: retrieval, classification, answer overlap, latency."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Callable, Sequence


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


def latency_percentiles(name: str, seconds: Sequence[float]) -> dict[str, float]:
    """``{name}_p50`` and ``{name}_p95``; nothing for no values (a run with no timed item has no latency, not 0 s).

    >>> latency_percentiles("total_s", [1.0, 3.0]), latency_percentiles("total_s", [])
    ({'total_s_p50': 2.0, 'total_s_p95': 2.9}, {})
    """
    return {f"{name}_p50": percentile(seconds, 50), f"{name}_p95": percentile(seconds, 95)} if seconds else {}


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


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)  # SQuAD's set: ASCII only ("’" and "–" stay)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (its evaluate-v1.1.py): lower case, ASCII punctuation deleted, no articles,
    single spaces.

    >>> normalize_answer("The  Eiffel Tower!"), normalize_answer("U.S. sales of 1,000"), normalize_answer("snake_case")
    ('eiffel tower', 'us sales of 1000', 'snakecase')
    """
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised answer.

    >>> exact_match("the Eiffel tower.", ["Eiffel Tower", "tower"]), exact_match("Paris", ["Lyon"])
    (1.0, 0.0)
    """
    return float(any(normalize_answer(prediction) == normalize_answer(answer) for answer in answers))


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1 of the prediction against the best-matching answer.

    >>> token_f1("born in Paris France", ["Paris"])
    0.4
    >>> token_f1("", ["Paris"]), token_f1("Paris", ["paris", "Lyon"])
    (0.0, 1.0)
    """
    return max((_f1(normalize_answer(prediction).split(), normalize_answer(a).split()) for a in answers), default=0.0)


def answer_contained(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if any answer's normalised words occur, in order and together, among the prediction's.

    >>> answer_contained("He was born in 1,000 BC.", ["1000 BC"]), answer_contained("It is well known.", ["no"])
    (1.0, 0.0)
    """
    words = normalize_answer(prediction).split()
    for answer in answers:
        wanted = normalize_answer(answer).split()
        if wanted and any(words[i:i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1)):
            return 1.0
    return 0.0


def _f1(predicted: list[str], gold: list[str]) -> float:
    if not predicted or not gold:  # as SQuAD: both empty (an answer of articles only) is a match
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence.

    >>> lcs_length(list("abcde"), list("ace"))
    3
    """
    previous = [0] * (len(b) + 1)
    for item in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if item == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_tokens(text: str) -> list[str]:
    """The tokens of the reference ROUGE implementation (rouge-score, no stemming): lower-cased runs of
    ASCII letters and digits; articles stay.

    >>> rouge_tokens("The U.S. rose 3.5%")
    ['the', 'u', 's', 'rose', '3', '5']
    """
    return _NOT_ROUGE_TOKEN.sub(" ", text.lower()).split()


_NOT_ROUGE_TOKEN = re.compile(r"[^a-z0-9]+")


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (longest common subsequence) over ``rouge_tokens``, as rouge-score computes it.

    >>> round(rouge_l("the cat sat on the mat", "the cat is on the mat"), 4)
    0.8333
    """
    predicted, gold = rouge_tokens(prediction), rouge_tokens(reference)
    common = lcs_length(predicted, gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Mean over ``labels`` of each label's F1 (a label never predicted nor present scores 0).

    >>> round(macro_f1(["yes", "no", "no"], ["yes", "no", "yes"], ["yes", "no"]), 4)
    0.6667
    """
    scores = []
    for label in labels:
        true_positive = sum(g == label and p == label for g, p in zip(gold, predicted))
        predicted_count, gold_count = sum(p == label for p in predicted), sum(g == label for g in gold)
        scores.append(2 * true_positive / (predicted_count + gold_count) if predicted_count + gold_count else 0.0)
    return sum(scores) / len(scores)


def precision_recall(actual: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float]:
    """(precision, recall) of the positive class; 0.0 where undefined.

    >>> precision_recall([True, True, False, False], [True, False, True, False])
    (0.5, 0.5)
    """
    true_positive = sum(a and p for a, p in zip(actual, predicted))
    return (true_positive / sum(predicted) if any(predicted) else 0.0,
            true_positive / sum(actual) if any(actual) else 0.0)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean rounded to 4 places; None for no values.

    >>> mean([1, 0, 0.5]), mean([])
    (0.5, None)
    """
    return round(sum(values) / len(values), 4) if values else None


def bootstrap_interval(statistic: Callable[[Sequence[int]], float], size: int, resamples: int = 1000,
                       seed: int = 0, level: float = 0.95) -> list[float] | None:
    """Percentile bootstrap interval: ``statistic`` of ``resamples`` samples of item indices drawn with
    replacement from range(size); a sample the statistic refuses (ValueError: e.g. one class only) is
    skipped. None for fewer than 2 items. Items are resampled whole, so paired values stay paired.

    >>> bootstrap_interval(lambda sample: 0.5, 10)
    [0.5, 0.5]
    """
    if size < 2:
        return None
    import numpy as np

    draws = np.random.default_rng(seed).integers(0, size, (resamples, size))
    values = [value for value in map(_or_none(statistic), draws.tolist()) if value is not None]
    tail = 100 * (1 - level) / 2
    return [percentile(values, tail), percentile(values, 100 - tail)] if values else None


def mean_interval(values: Sequence[float], seed: int = 0) -> list[float] | None:
    """95% bootstrap interval of the mean.

    >>> mean_interval([1.0, 1.0, 1.0]), mean_interval([0.0])
    ([1.0, 1.0], None)
    """
    return bootstrap_interval(lambda sample: sum(values[i] for i in sample) / len(sample), len(values), seed=seed)


def _or_none(statistic: Callable[[Sequence[int]], float]) -> Callable[[Sequence[int]], float | None]:
    def guarded(sample: Sequence[int]) -> float | None:
        try:
            return statistic(sample)
        except ValueError:
            return None
    return guarded
