"""How a checker's raw support becomes the score its verdicts use, as fitted on BEGIN dev data.

bench/calibrate_checker.py fits, per checker, a logistic combination of the support's log-odds, the
claim's word overlap with the evidence and, when the checker measures it (``judge+gain``), the weakest
token's gain from the passage (rag/check.py ``weakest_gain``), and the threshold on the combined score that
maximises balanced accuracy; both are stored in rag/calibration.json, the weights by feature name. A
checker without stored weights is thresholded on its raw support.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from rag.claims import word_overlap
from rag.types import Judgement

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")  # written by bench/calibrate_checker.py
DEFAULT_THRESHOLD = 0.5
BASE_FEATURES = ("support_log_odds", "word_overlap")  # every checker has these
FEATURES: dict[str, Callable[[str, str, Judgement], float | None]] = {  # (claim, evidence, judgement) -> value
    "support_log_odds": lambda claim, evidence, judged: log_odds(judged.support),
    "word_overlap": lambda claim, evidence, judged: word_overlap(claim, evidence),
    "weakest_gain": lambda claim, evidence, judged: judged.weakest_gain,
}


@dataclass(frozen=True)
class Calibration:
    threshold: float = DEFAULT_THRESHOLD
    weights: tuple[float, ...] | None = None  # (bias, *one per feature); None = the raw support is the score
    features: tuple[str, ...] = BASE_FEATURES  # names in FEATURES, in the order of the weights

    def __post_init__(self) -> None:
        unknown = [name for name in self.features if name not in FEATURES]
        if unknown or not self.features:
            raise ValueError(f"unknown features {unknown}" if unknown else "no features")
        if self.weights is not None and len(self.weights) != len(self.features) + 1:
            raise ValueError(f"{len(self.weights)} weights for the bias and {len(self.features)} features")

    def score(self, claim: str, evidence: str, judged: Judgement) -> float:
        """The score compared with the threshold.

        >>> Calibration().score("The port is deep.", "The port is shallow.", Judgement(0.8, 0.1))
        0.8
        >>> even = Judgement(0.5, 0.0)
        >>> round(Calibration(0.5, (-1.0, 1.0, 2.0)).score("the port is deep", "a deep port", even), 4)
        0.7311
        """
        if self.weights is None:
            return judged.support
        return combined_support(self.weights, feature_values(claim, evidence, judged, self.features))

    def record(self) -> dict[str, object]:
        """What calibration.json stores for it."""
        weights = None if self.weights is None else dict(zip(("bias", *self.features), self.weights))
        return {"threshold": self.threshold, "weights": weights}


def feature_values(claim: str, evidence: str, judged: Judgement, names: Sequence[str]) -> list[float]:
    """The named features of one judged pair; a feature the checker did not measure is an error."""
    values = [FEATURES[name](claim, evidence, judged) for name in names]
    if None in values:
        raise ValueError(f"the checker did not measure {names[values.index(None)]}, which its calibration uses")
    return [float(value) for value in values]  # type: ignore[arg-type]


def measured_features(judgements: Sequence[Judgement]) -> tuple[str, ...]:
    """The features every one of these judgements has: the base ones, plus the weakest gain when measured.

    >>> measured_features([Judgement(0.9, 0.0, weakest_gain=-1.0)])
    ('support_log_odds', 'word_overlap', 'weakest_gain')
    """
    measured = all(judged.weakest_gain is not None for judged in judgements)
    return BASE_FEATURES + (("weakest_gain",) if measured and judgements else ())


def log_odds(probability: float) -> float:
    """
    >>> log_odds(0.5)
    0.0
    """
    clipped = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(clipped / (1 - clipped))


def combined_support(weights: Sequence[float], features: Sequence[float]) -> float:
    """The logistic combination: sigmoid(bias + sum(weight * feature)).

    >>> combined_support((0.0, 1.0), (0.0,))
    0.5
    """
    return float(logistic_rows(weights, [features])[0])


def logistic_rows(weights: ArrayLike, rows: ArrayLike) -> np.ndarray:
    """``combined_support`` of every row of a feature matrix at once (the bias is ``weights[0]``).

    >>> logistic_rows((0.0, 2.0), [(0.0,), (60.0,)]).round(3).tolist()
    [0.5, 1.0]
    """
    import numpy as np

    bias_and_weights = np.asarray(weights, dtype=float)
    z = bias_and_weights[0] + np.asarray(rows, dtype=float) @ bias_and_weights[1:]
    return 1 / (1 + np.exp(-np.clip(z, -60, 60)))


def fit_logistic(features: Sequence[Sequence[float]], labels: Sequence[bool], l2: float = 1.0,
                 steps: int = 50) -> tuple[float, ...]:
    """(bias, *weights) of an L2-regularised logistic regression (the bias is not penalised), by Newton steps.

    >>> weights = fit_logistic([(0.0,), (1.0,), (2.0,), (3.0,)], [False, False, True, True], l2=0.1)
    >>> weights[1] > 0 and combined_support(weights, (0.5,)) < 0.5 < combined_support(weights, (2.5,))
    True
    """
    import numpy as np

    design = np.c_[np.ones(len(features)), np.asarray(features, dtype=float)]
    target = np.asarray(labels, dtype=float)
    penalty = l2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    weights = np.zeros(design.shape[1])
    for _ in range(steps):
        predicted = logistic_rows(weights, design[:, 1:])
        gradient = design.T @ (predicted - target) + penalty @ weights
        hessian = (design * (predicted * (1 - predicted))[:, None]).T @ design + penalty
        weights = weights - np.linalg.solve(hessian + 1e-9 * np.eye(len(weights)), gradient)
    return tuple(round(float(w), 5) for w in weights)


def calibration_for(checker_name: str, path: Path | None = None) -> Calibration:
    """The calibration stored for this checker (in CALIBRATION_FILE unless path), else the raw support at 0.5.
    A stored entry that cannot be read is an error, not a silent fallback."""
    path = path or CALIBRATION_FILE
    try:
        stored = json.loads(path.read_text())[checker_name]
    except (OSError, KeyError):
        return Calibration()
    try:
        weights = stored.get("weights")
        if not weights:
            return Calibration(float(stored["threshold"]))
        features = tuple(name for name in weights if name != "bias")  # checked by Calibration itself
        return Calibration(float(stored["threshold"]), tuple(float(weights[k]) for k in ("bias", *features)), features)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path}: the calibration of {checker_name} is unreadable ({error!r}); "
                         "run bench/calibrate_checker.py again") from error
