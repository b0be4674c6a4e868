"""Calibrate a checker's support threshold on BEGIN dev data (never on a test set) and store it.

    .venv/bin/python bench/calibrate_checker.py [--model default] [--checker judge|overlap|NLI_DIR] [-n 160] [--seed 7]

Rows labelled 'Generic' are dropped; 'Fully attributable' is the positive class. The threshold that
maximises balanced accuracy on the sample is written to rag/calibration.json under the checker's
name, with the sample size, seed, balanced accuracy and ROC AUC; check_answer uses it by default.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tqdm import tqdm  # noqa: E402

from rag.check import CALIBRATION_FILE  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.factcheck import BEGIN_DEV, begin_items  # noqa: E402
from rag.eval.metrics import balanced_accuracy, best_threshold, roc_auc  # noqa: E402
from rag.generate import make_generator  # noqa: E402
from rag.pipeline import make_checker  # noqa: E402

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--checker", default="judge")
    parser.add_argument("-n", type=int, default=160)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = load_settings(model=args.model)
    rows = begin_items(settings.eval_data, BEGIN_DEV)
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    generator = make_generator(settings.model, settings.device, settings.model_cache_dir, settings.max_context_tokens)
    checker = make_checker(args.checker, generator, settings.device)
    started = time.perf_counter()
    scores: list[float] = []
    for first in tqdm(range(0, len(sample), 8), desc="judging", unit="batch of 8"):
        batch = sample[first:first + 8]
        scores += [support for support, _, _ in checker.judge([(item.judged_text, item.source) for item in batch])]
    seconds = (time.perf_counter() - started) / len(sample)
    labels = [item.supported for item in sample]
    threshold, accuracy = best_threshold(labels, scores)
    record = {"threshold": threshold, "dataset": "BEGIN dev (cmu, tc, wow), Generic dropped", "n": len(sample),
              "seed": args.seed, "balanced_accuracy": round(accuracy, 4), "roc_auc": round(roc_auc(labels, scores), 4),
              "balanced_accuracy_at_0.5": round(balanced_accuracy(labels, [s >= 0.5 for s in scores]), 4),
              "seconds_per_claim": round(seconds, 2)}
    stored = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.is_file() else {}
    stored[checker.name] = record
    CALIBRATION_FILE.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    print(f"{checker.name}: {json.dumps(record)}")


if __name__ == "__main__":
    main()
