"""How a checker's raw support becomes the score its verdicts use, as fitted on BEGIN dev data.

bench/calibrate_checker.py fits, per checker, a logistic combination of the support's log-odds and the
claim's word overlap with the evidence (the checkers of rag/check.py combined), and the threshold on the
combined score that maximises balanced accuracy; both are stored in rag/calibration.json. A checker
without stored weights is thresholded on its raw support.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.claims import word_overlap

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")  # written by bench/calibrate_checker.py
DEFAULT_THRESHOLD = 0.5
FEATURES = ("support_log_odds", "word_overlap")  # the order of Calibration.weights after the bias


@dataclass(frozen=True)
class Calibration:
    threshold: float = DEFAULT_THRESHOLD
    weights: tuple[float, ...] | None = None  # (bias, *FEATURES); None = the raw support is the score

    def score(self, claim: str, evidence: str, support: float) -> float:
        """The score compared with the threshold.

        >>> Calibration().score("The port is deep.", "The port is shallow.", 0.8)
        0.8
        >>> round(Calibration(0.5, (-1.0, 1.0, 2.0)).score("the port is deep", "a deep port", 0.5), 4)
        0.7311
        """
        if self.weights is None:
            return support
        return combined_support(self.weights, (log_odds(support), word_overlap(claim, evidence)))

    def record(self) -> dict[str, object]:
        """What calibration.json stores for it."""
        weights = None if self.weights is None else dict(zip(("bias", *FEATURES), self.weights))
        return {"threshold": self.threshold, "weights": weights}


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
    z = weights[0] + sum(weight * value for weight, value in zip(weights[1:], features))
    return 1 / (1 + math.exp(-max(min(z, 60.0), -60.0)))


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
        predicted = 1 / (1 + np.exp(-np.clip(design @ weights, -60, 60)))
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
        return Calibration(float(stored["threshold"]),
                           None if not weights else tuple(float(weights[k]) for k in ("bias", *FEATURES)))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path}: the calibration of {checker_name} is unreadable ({error!r}); "
                         "run bench/calibrate_checker.py again") from error
