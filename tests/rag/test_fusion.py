from __future__ import annotations

from hypothesis import given, strategies as st

from rag.fusion import drop_near_duplicates, group_order, jaccard, lift_by_group, reciprocal_rank_fusion, shingles

RANKINGS = st.lists(st.lists(st.integers(0, 30), unique=True, max_size=20), min_size=1, max_size=4)


@given(RANKINGS)
def test_fusion_keeps_every_key_once_with_descending_scores(rankings: list[list[int]]) -> None:
    fused = reciprocal_rank_fusion(rankings)
    keys = [key for key, _ in fused]
    assert sorted(keys) == sorted({key for ranking in rankings for key in ranking})
    assert all(a[1] >= b[1] for a, b in zip(fused, fused[1:]))


@given(RANKINGS, st.integers(1000, 2000))
def test_a_key_first_everywhere_wins(rankings: list[list[int]], champion: int) -> None:
    fused = reciprocal_rank_fusion([[champion, *ranking] for ranking in rankings])
    assert fused[0][0] == champion


def test_fusion_rewards_agreement() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "a"], ["b"]]))
    assert fused["b"] > fused["a"] == fused["c"]


RANKING = st.lists(st.integers(0, 40), unique=True, max_size=25)


def tens(key: int) -> int:
    return key // 10


@given(RANKING)
def test_group_order_lists_each_group_once_by_its_best_key(ranking: list[int]) -> None:
    groups = group_order(ranking, tens)
    assert sorted(groups) == sorted({tens(key) for key in ranking})
    first_position = [min(i for i, key in enumerate(ranking) if tens(key) == group) for group in groups]
    assert first_position == sorted(first_position)


@given(RANKING, st.lists(st.integers(0, 5), unique=True, max_size=6))
def test_lifting_groups_keeps_every_key_and_each_groups_own_order(ranking: list[int], lifted_groups: list[int]) -> None:
    scored = [(key, 1.0 / (60 + rank)) for rank, key in enumerate(ranking, start=1)]
    lifted = lift_by_group(scored, tens, lifted_groups)
    assert sorted(key for key, _ in lifted) == sorted(ranking)
    assert all(a[1] >= b[1] for a, b in zip(lifted, lifted[1:]))
    for group in {tens(key) for key in ranking}:  # within a group the order is the ranking's
        assert [k for k, _ in lifted if tens(k) == group] == [k for k in ranking if tens(k) == group]
    unlifted = dict(scored)
    assert all(score == unlifted[key] for key, score in lifted if tens(key) not in lifted_groups)
    position = {key: i for i, (key, _) in enumerate(lifted)}
    lift_rank = {group: rank for rank, group in enumerate(lifted_groups)}
    for a, b in zip(ranking, ranking[1:]):  # no key overtakes one above it whose group is lifted at least as much
        if lift_rank.get(tens(a), 99) <= lift_rank.get(tens(b), 99):
            assert position[a] < position[b]


@given(st.lists(st.text(alphabet="ab c", max_size=30), max_size=8))
def test_dedupe_keeps_first_and_only_dissimilar(texts: list[str]) -> None:
    kept = drop_near_duplicates(texts, 0.8)
    assert kept == sorted(kept) and (not texts or kept[0] == 0)
    for position, i in enumerate(kept):
        assert all(jaccard(shingles(texts[i]), shingles(texts[j])) < 0.8 for j in kept[:position])
    for i in set(range(len(texts))) - set(kept):  # a dropped text repeats a kept earlier one
        assert any(jaccard(shingles(texts[i]), shingles(texts[j])) >= 0.8 for j in kept if j < i)
