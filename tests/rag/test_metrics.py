from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rag.eval.metrics import balanced_accuracy, bootstrap_interval, hit_at_k, mean_interval, recall_at_k, reciprocal_rank

DOCS = st.lists(st.sampled_from("abcdefgh"), max_size=12)


def test_hand_computed_cases() -> None:
    ranked = ["a.pdf", "a.pdf", "b.pdf", "c.pdf", "d.pdf"]
    assert recall_at_k(ranked, ["b.pdf", "d.pdf", "z.pdf"], k=3) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, ["b.pdf", "d.pdf", "z.pdf"], k=4) == pytest.approx(2 / 3)
    assert hit_at_k(ranked, ["c.pdf"], k=2) == 0.0 and hit_at_k(ranked, ["c.pdf"], k=3) == 1.0
    assert reciprocal_rank(ranked, ["c.pdf", "d.pdf"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        recall_at_k(ranked, [], k=5)


@given(DOCS, st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=4), st.integers(1, 10))
def test_bounds_and_monotonicity(ranked: list[str], gold: list[str], k: int) -> None:
    assert 0.0 <= recall_at_k(ranked, gold, k) <= hit_at_k(ranked, gold, k) <= 1.0
    assert recall_at_k(ranked, gold, k) <= recall_at_k(ranked, gold, k + 1)
    assert 0.0 <= reciprocal_rank(ranked, gold) <= 1.0


def test_balanced_accuracy_auc_and_threshold() -> None:
    from rag.eval.metrics import balanced_accuracy, best_threshold, roc_auc

    labels = [True, True, True, False, False]
    scores = [0.9, 0.7, 0.2, 0.6, 0.1]
    assert balanced_accuracy(labels, [s >= 0.5 for s in scores]) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert roc_auc(labels, scores) == pytest.approx(5 / 6)
    threshold, accuracy = best_threshold(labels, scores)
    assert accuracy == pytest.approx(balanced_accuracy(labels, [s >= threshold for s in scores]))
    assert accuracy >= max(balanced_accuracy(labels, [s >= t for s in scores]) for t in (0.15, 0.4, 0.65, 0.8))


@given(st.lists(st.floats(0, 1), min_size=2, max_size=40), st.integers(0, 5))
def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_data(values: list[float], seed: int) -> None:
    low, high = mean_interval(values, seed=seed)
    assert min(values) - 5e-5 <= low <= high <= max(values) + 5e-5  # bounds are rounded to 4 places
    assert mean_interval(values, seed=seed) == [low, high]  # seeded: the same interval every time
    wider, narrower = mean_interval([0.0, 1.0] * 5), mean_interval([0.0, 1.0] * 200)
    assert narrower[1] - narrower[0] < wider[1] - wider[0]
    assert narrower[0] <= 0.5 <= narrower[1]


def test_bootstrap_skips_samples_the_statistic_refuses() -> None:
    labels = [True, False, False, False, False, False]
    interval = bootstrap_interval(lambda s: balanced_accuracy([labels[i] for i in s], [labels[i] for i in s]), 6)
    assert interval == [1.0, 1.0]  # samples without the one positive raise and are left out
    assert bootstrap_interval(lambda s: float(len(s)), 1) is None  # one item: nothing to resample


def test_answer_overlap_metrics_on_hand_computed_cases() -> None:
    from rag.eval.metrics import answer_contained, exact_match, rouge_l, token_f1

    assert exact_match("US", ["U.S."]) == exact_match("1000", ["1,000"]) == 1.0  # SQuAD deletes punctuation
    assert token_f1("Ireland", ["Ireland's"]) == 0.0 and token_f1("the", ["a"]) == exact_match("the", ["a"]) == 1.0
    assert token_f1("the cat sat", ["a cat sat down"]) == pytest.approx(2 * (2 / 2) * (2 / 3) / (2 / 2 + 2 / 3))
    assert answer_contained("Yes, both are known directors.", ["no"]) == 0.0  # a word, not a substring
    assert answer_contained("It was Washington D.C., in 1800.", ["Washington, D.C."]) == 1.0
    # the ROUGE paper's example: LCS("police killed the gunman", "the gunman was killed by police") = 2
    assert rouge_l("police killed the gunman", "the gunman was killed by police") == pytest.approx(0.4)
    assert rouge_l("", "anything") == 0.0
