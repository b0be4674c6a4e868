"""Calibrate a checker on BEGIN dev data (never on a test set) and store the calibration with it.

    .venv/bin/python bench/calibrate_checker.py [--model default] [--checker judge|judge+gain|overlap|NLI_DIR]
        [-n 600] [--seed 7] [--scores FILE] [--raw]

Rows labelled 'Generic' are dropped; 'Fully attributable' is the positive class. The checker judges a
seeded sample (its raw judgements can be kept in --scores FILE, by checker name, and are reused from there); then
a logistic combination of the support's log-odds, the claim's word overlap with the source and, when the
checker measures it (judge+gain), the weakest token's gain from the source is fitted (--raw: no
combination), and the threshold on the combined score that maximises balanced accuracy is chosen. Both
go to rag/calibration.json under the checker's name, with the sample, its balanced accuracy and ROC AUC
(combined and raw); check_answer and the fact-check evaluation use them by default.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tqdm import tqdm  # noqa: E402

from rag.calibration import CALIBRATION_FILE, Calibration, feature_values, fit_logistic, measured_features  # noqa: E402
from rag.check import Checker  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.factcheck import BEGIN_DEV, FactCheckItem, begin_items, judgement_fields, stored_judgement  # noqa: E402
from rag.eval.metrics import balanced_accuracy, best_threshold, roc_auc  # noqa: E402
from rag.eval.runs import complete_lines  # noqa: E402
from rag.generate import make_generator  # noqa: E402
from rag.pipeline import make_checker  # noqa: E402
from rag.types import Judgement  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--checker", default="judge")
    parser.add_argument("-n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scores", type=Path, help="JSONL of raw scores per row: reused, and extended")
    parser.add_argument("--raw", action="store_true", help="threshold the raw support, fit no combination")
    args = parser.parse_args()
    settings = load_settings(model=args.model)
    rows = begin_items(settings.eval_data, BEGIN_DEV)
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    generator = make_generator(settings.model, settings.device, settings.model_cache_dir, settings.max_context_tokens)
    checker = make_checker(args.checker, generator, settings.device)
    judgements, seconds = judged(checker, sample, args.scores)
    calibration, record = fit(sample, judgements, combine=not args.raw)
    stored = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.is_file() else {}
    measured = round(seconds, 2) if seconds is not None else stored.get(checker.name, {}).get("seconds_per_claim")
    record |= {"dataset": "BEGIN dev (cmu, tc, wow), Generic dropped", "n": len(sample), "seed": args.seed,
               "seconds_per_claim": measured}
    stored[checker.name] = record | calibration.record()
    CALIBRATION_FILE.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    print(f"{checker.name}: {json.dumps(stored[checker.name])}")


def judged(checker: Checker, sample: list[FactCheckItem], scores_file: Path | None) -> tuple[list[Judgement], float | None]:
    """The checker's raw judgement per row (batches of 8), reusing this checker's rows already in scores_file;
    and the mean seconds per newly judged row (None when all were reused)."""
    stored = scores_file.read_text().splitlines() if scores_file and scores_file.is_file() else []
    known = {row["id"]: stored_judgement(row) for row in complete_lines(stored) if row.get("checker") == checker.name}
    pending = [item for item in sample if item.id not in known]
    started = time.perf_counter()
    with open(scores_file, "a") if scores_file else open(os.devnull, "w") as out:
        for first in tqdm(range(0, len(pending), 8), desc="judging", unit="batch of 8"):
            batch = pending[first:first + 8]
            for item, judgement in zip(batch, checker.judge([(i.judged_text, i.source) for i in batch])):
                known[item.id] = judgement
                out.write(json.dumps({"id": item.id, "checker": checker.name, **judgement_fields(judgement)}) + "\n")
            out.flush()
    seconds = (time.perf_counter() - started) / len(pending) if pending else None
    return [known[item.id] for item in sample], seconds


def fit(sample: list[FactCheckItem], judgements: list[Judgement], combine: bool) -> tuple[Calibration, dict[str, float]]:
    """The calibration (weights of the features the checker measured, when combining, and the best
    balanced-accuracy threshold) and its figures."""
    labels, supports = [item.supported for item in sample], [judged.support for judged in judgements]
    calibration = Calibration(0.5)
    if combine:
        features = measured_features(judgements)
        values = [feature_values(i.claim, i.source, j, features) for i, j in zip(sample, judgements)]
        calibration = Calibration(0.5, fit_logistic(values, labels), features)
    scored = [calibration.score(i.claim, i.source, j) for i, j in zip(sample, judgements)]
    threshold, accuracy = best_threshold(labels, scored)
    raw_threshold, raw_accuracy = best_threshold(labels, supports)
    return replace(calibration, threshold=threshold), {
        "balanced_accuracy": round(accuracy, 4), "roc_auc": round(roc_auc(labels, scored), 4),
        "raw_balanced_accuracy": round(raw_accuracy, 4), "raw_roc_auc": round(roc_auc(labels, supports), 4),
        "raw_threshold": raw_threshold}


if __name__ == "__main__":
    main()
