"""A linear probe on the judge's hidden state, trained on BEGIN dev: does it tell supported claims from
unsupported ones better than the judge's own answer probabilities? (issue 4: WiCE stays under 0.72)

    .venv/bin/python bench/probe_checker.py extract SET [--model default] [-n 1000] [--seed 7] [--dir DIR]
    .venv/bin/python bench/probe_checker.py evaluate [--dir DIR]

``extract`` runs the judge's prompt (rag/check.py) on each row of SET and keeps, for the position where the
judge answers, the hidden state after the middle decoder layer and after the final norm, with the judge's
support; resumable, in DIR/SET/*.npz (default DIR: .rag-data/probe). SETs: ``begin-dev`` (a seeded sample of
-n rows of the BEGIN dev files, the only training data), ``begin`` and ``halueval`` (the 150-claim samples of
``rag eval begin|halueval --limit 150``), ``wice`` (all 1,070 rows).

``evaluate`` standardises each layer's features on begin-dev, fits an L2 logistic probe there (the penalty
chosen by 5-fold cross-validated ROC AUC on begin-dev alone) and the threshold that maximises begin-dev's
balanced accuracy, then prints balanced accuracy and ROC AUC on every extracted test set (WiCE: a claim
scores the maximum over its rows), with the judge's raw support AUC on the same rows.

Rule fixed before any test figure is seen: the probe becomes a checker only if its WiCE balanced accuracy
beats the judge's 0.677 by at least 0.02 and neither BEGIN 150 (0.906) nor HaluEval 150 (0.909) falls by
more than 0.01. Measured 2026-11-27: rejected, HaluEval 150 fell to 0.55 (README, Results).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from rag.calibration import fit_logistic, logistic_rows  # noqa: E402
from rag.check import LLMJudge  # noqa: E402
from rag.citations import strip_citations  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.factcheck import (BEGIN_DEV, FactCheckItem, begin_items, halueval_items, sample_claims,  # noqa: E402
                                wice_items)
from rag.eval.metrics import balanced_accuracy, best_threshold, roc_auc  # noqa: E402
from rag.generate import TransformersGenerator  # noqa: E402

LAYERS = ("middle", "final")
CHUNK = 25  # rows per saved file: an interrupted extraction loses at most this many
PENALTIES = (1.0, 10.0, 100.0, 1000.0)


def items_of(name: str, root: Path, n: int, seed: int) -> list[FactCheckItem]:
    """The rows of a named set, in a fixed order (the test samples as `rag eval ... --limit 150` draws them)."""
    sets: dict[str, Callable[[], list[FactCheckItem]]] = {
        "begin-dev": lambda: random.Random(seed).sample(begin_items(root, BEGIN_DEV), n),
        "begin": lambda: sample_claims(begin_items(root), 150, 7),
        "halueval": lambda: sample_claims(halueval_items(root), 150, 7),
        "wice": lambda: wice_items(root)}
    return sets[name]()


class AnswerPosition:
    """Forward hooks that keep, from each module's latest pass, the hidden state at the last position."""

    def __init__(self, modules: dict[str, Any]) -> None:
        self.latest: dict[str, np.ndarray] = {}
        self._handles = [module.register_forward_hook(self._keeper(name)) for name, module in modules.items()]

    def _keeper(self, name: str) -> Callable[..., None]:
        def keep(module: Any, inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            self.latest[name] = hidden[0, -1].float().cpu().numpy()
        return keep


def hooked_layers(generator: TransformersGenerator) -> dict[str, Any]:
    decoder = generator._model.model
    return {"middle": decoder.layers[len(decoder.layers) // 2], "final": decoder.norm}


def extract(judge: LLMJudge, positions: AnswerPosition, items: list[FactCheckItem], folder: Path) -> None:
    """Each row's answer-position states and the judge's support, CHUNK rows per file, skipping rows done."""
    done = {str(i) for i in load(folder).get("ids", [])}
    todo = [item for item in items if item.id not in done]
    folder.mkdir(parents=True, exist_ok=True)
    for start in tqdm(range(0, len(todo), CHUNK), desc=folder.name, unit="chunk"):
        rows = [read_row(judge, positions, item) for item in todo[start:start + CHUNK]]
        np.savez(folder / f"{len(done) + start:05d}.npz", **{key: np.array([row[key] for row in rows])
                                                              for key in rows[0]})


def read_row(judge: LLMJudge, positions: AnswerPosition, item: FactCheckItem) -> dict[str, Any]:
    """One claim read after its passage, alone in its batch, so the hooks' last pass is this claim's."""
    run = judge._read(item.source, [strip_citations(item.judged_text)])[0]
    return {"ids": item.id, "claim_ids": item.claim_id, "labels": item.supported, "support": run.choices[0],
            **{layer: positions.latest[layer] for layer in LAYERS}}


def load(folder: Path) -> dict[str, np.ndarray]:
    """All saved chunks of a set, concatenated by key (empty when nothing is saved)."""
    chunks = [np.load(path) for path in sorted(folder.glob("*.npz"))]
    return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0].files} if chunks else {}


def cross_validated_penalty(features: np.ndarray, labels: np.ndarray, seed: int = 7) -> float:
    """The L2 penalty with the best mean ROC AUC over 5 folds of the training rows."""
    folds = np.random.default_rng(seed).permutation(len(labels)) % 5
    def mean_auc(l2: float) -> float:
        return float(np.mean([roc_auc(labels[folds == k].tolist(), logistic_rows(
            fit_logistic(features[folds != k], labels[folds != k].tolist(), l2=l2, steps=25),
            features[folds == k]).tolist()) for k in range(5)]))
    return max(PENALTIES, key=mean_auc)


def claim_level(data: dict[str, np.ndarray], scores: np.ndarray) -> tuple[list[bool], list[float]]:
    """Labels and scores per claim: the maximum over its rows (one row per claim outside WiCE)."""
    best: dict[str, tuple[bool, float]] = {}
    for claim, label, score in zip(data["claim_ids"].tolist(), data["labels"].tolist(), scores.tolist()):
        best[claim] = (label, max(score, best.get(claim, (label, -np.inf))[1]))
    return [label for label, _ in best.values()], [score for _, score in best.values()]


def evaluate(root: Path) -> None:
    train = load(root / "begin-dev")
    for layer in LAYERS:
        mean, spread = train[layer].mean(axis=0), train[layer].std(axis=0) + 1e-6
        features = (train[layer] - mean) / spread
        l2 = cross_validated_penalty(features, train["labels"])
        weights = fit_logistic(features, train["labels"].tolist(), l2=l2, steps=25)
        threshold, train_accuracy = best_threshold(train["labels"].tolist(), logistic_rows(weights, features).tolist())
        print(f"{layer}: l2 {l2:g}, begin-dev (fitted on) BAcc {train_accuracy:.3f}, threshold {threshold:.3f}")
        for name in ("begin", "halueval", "wice"):
            if (test := load(root / name)):
                report(name, test, logistic_rows(weights, (test[layer] - mean) / spread), threshold)


def report(name: str, test: dict[str, np.ndarray], scores: np.ndarray, threshold: float) -> None:
    labels, claim_scores = claim_level(test, scores)
    _, judge_scores = claim_level(test, test["support"])
    accuracy = balanced_accuracy(labels, [score >= threshold for score in claim_scores])
    print(f"  {name}: {len(labels)} claims, BAcc {accuracy:.3f}, AUC {roc_auc(labels, claim_scores):.3f} "
          f"(the judge's raw support on the same rows: AUC {roc_auc(labels, judge_scores):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("extract", "evaluate"))
    parser.add_argument("set", nargs="?", choices=("begin-dev", "begin", "halueval", "wice"))
    parser.add_argument("--model", default="default")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(".rag-data/probe"))
    args = parser.parse_args()
    if args.action == "evaluate":
        return evaluate(args.dir)
    if args.set is None:
        parser.error("extract needs a SET")
    settings = load_settings(model=args.model)
    generator = TransformersGenerator(settings.model, settings.device, settings.model_cache_dir)
    generator.warm_up()
    positions = AnswerPosition(hooked_layers(generator))
    extract(LLMJudge(generator), positions, items_of(args.set, settings.eval_data, args.n, args.seed),
            args.dir / args.set)


if __name__ == "__main__":
    main()
