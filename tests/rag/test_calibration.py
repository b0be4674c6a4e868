from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag import calibration as calibration_module
from rag.calibration import Calibration, calibration_for, combined_support, fit_logistic, log_odds
from rag.check import CheckSettings, check_answer
from rag.types import Answer, Chunk, Judgement, Passage, Sentence

COPIED = "The channel was deepened to 16.5 metres in 2025."
PASSAGE = "Dredging finished in 2025: the channel was deepened to 16.5 metres."
NOVEL = "Pilots praised the quiet evening tides."


class ConstantChecker:
    """The same middling support for every pair: only the calibration's overlap weight can decide."""

    name = "constant"

    def judge(self, pairs):
        return [Judgement(0.5, 0.1) for _ in pairs]


def test_record_round_trips_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    stored = Calibration(0.62, (-1.5, 0.8, 3.0))
    path.write_text(json.dumps({"judge-x": stored.record()}))
    assert calibration_for("judge-x", path) == stored
    assert calibration_for("another", path) == Calibration()  # nothing stored: raw support at 0.5
    assert calibration_for("judge-x", tmp_path / "missing.json") == Calibration()
    path.write_text(json.dumps({"judge-x": {"threshold": 0.7}}))  # older files: a threshold, no weights
    assert calibration_for("judge-x", path) == Calibration(0.7, None)
    path.write_text(json.dumps({"judge-x": {"threshold": 0.7, "weights": {"bias": 1.0}}}))  # weights without features
    with pytest.raises(ValueError, match="judge-x"):
        calibration_for("judge-x", path)
    path.write_text(json.dumps({"judge-x": {"threshold": 0.7, "weights": {"bias": 1.0, "shoe_size": 2.0}}}))
    with pytest.raises(ValueError, match="shoe_size"):
        calibration_for("judge-x", path)


def test_weights_are_stored_by_feature_name(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    stored = Calibration(0.4, (-1.0, 0.9, 4.0, 0.5), ("support_log_odds", "word_overlap", "weakest_gain"))
    path.write_text(json.dumps({"judge-x": stored.record()}, sort_keys=True))  # the file's order is not the weights'
    loaded = calibration_for("judge-x", path)
    judged = Judgement(0.7, 0.1, weakest_gain=-3.0)
    assert loaded.score(COPIED, PASSAGE, judged) == pytest.approx(stored.score(COPIED, PASSAGE, judged))
    assert loaded.score(COPIED, PASSAGE, judged) == pytest.approx(
        combined_support((-1.0, 0.9, 4.0, 0.5), (log_odds(0.7), 1.0, -3.0)))
    with pytest.raises(ValueError, match="weakest_gain"):  # a checker that does not measure it
        stored.score(COPIED, PASSAGE, Judgement(0.7, 0.1))
    with pytest.raises(ValueError, match="4 weights"):
        Calibration(0.4, (-1.0, 0.9, 4.0, 0.5))  # the default two features need three


def test_raw_support_is_the_score_without_weights() -> None:
    assert Calibration(0.6).score(NOVEL, PASSAGE, Judgement(0.83, 0.0)) == 0.83


@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_combination_rises_with_support_and_overlap(low: float, high: float, overlap_a: float, overlap_b: float) -> None:
    weights = (-2.0, 1.2, 3.5)
    low, high = sorted((low, high))
    small, large = sorted((overlap_a, overlap_b))
    assert combined_support(weights, (log_odds(low), small)) <= combined_support(weights, (log_odds(high), small))
    assert combined_support(weights, (log_odds(low), small)) <= combined_support(weights, (log_odds(low), large))
    assert 0.0 <= combined_support(weights, (log_odds(high), large)) <= 1.0


def test_combination_is_the_logistic_of_the_weighted_features() -> None:
    weights = (-2.0, 1.2, 3.5)  # -2 + 1.2 * log_odds(0.5) + 3.5 * 0.5 = -0.25
    assert combined_support(weights, (log_odds(0.5), 0.5)) == pytest.approx(1 / (1 + math.exp(0.25)))
    assert combined_support(weights, (log_odds(0.9), 0.0)) == pytest.approx(1 / (1 + math.exp(2 - 1.2 * math.log(9))))


def test_fit_finds_the_feature_that_decides_the_labels() -> None:
    rows = [(log_odds(support), overlap) for support in (0.2, 0.5, 0.8) for overlap in (0.1, 0.3, 0.7, 0.9)]
    labels = [overlap > 0.5 for _, overlap in rows]  # the support says nothing here
    bias, support_weight, overlap_weight = fit_logistic(rows, labels, l2=0.1)
    assert overlap_weight > 5 * abs(support_weight)
    predicted = [combined_support((bias, support_weight, overlap_weight), row) >= 0.5 for row in rows]
    assert predicted == labels


def test_check_answer_uses_the_stored_combination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"constant": Calibration(0.6, (-2.0, 1.0, 4.0)).record()}))
    monkeypatch.setattr(calibration_module, "CALIBRATION_FILE", path)
    passages = (Passage(Chunk("c1", "report.pdf", 1, 0, len(PASSAGE), PASSAGE), 0.5),)
    answer = Answer("q", f"{COPIED} {NOVEL}", False, (Sentence(COPIED, (1,)), Sentence(NOVEL, (1,))), passages, "m")
    copied, novel = check_answer(answer, ConstantChecker()).sentences
    assert copied.verdict == "supported" and copied.score == pytest.approx(combined_support((-2.0, 1.0, 4.0), (0.0, 1.0)), abs=1e-4)
    assert novel.verdict == "unsupported" and novel.score < 0.6
    override = check_answer(answer, ConstantChecker(), CheckSettings(threshold=0.99)).sentences
    assert override[0].verdict == "unsupported"  # a threshold set by the user wins over the stored one
