"""Re-score a fact-check run's stored checker scores with today's calibration and lexical guard.

    .venv/bin/python bench/rescore_factcheck.py RUN [--eval-data DIR]

A row's raw checker judgement (`checker_support`, `contradict`, `weakest_gain` in results.jsonl) depends
neither on the calibration (rag/calibration.json) nor on the guard, so a change to either can be measured
on an existing `rag eval wice|begin|halueval` run without judging again (75 minutes for WiCE on a 2-core CPU). Prints the
run's stored metrics next to the re-scored ones; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.calibration import Calibration, calibration_for  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval.factcheck import (FACTCHECK_DATASETS, FactCheckItem, scored_fields, stored_judgement,  # noqa: E402
                                 summarize_factcheck)
from rag.eval.runs import RunDir  # noqa: E402

SHOWN = ("claims", "threshold", "balanced_accuracy", "balanced_accuracy_ci95", "roc_auc", "oracle_balanced_accuracy",
         "oracle_threshold")


def rescored(records: list[dict[str, Any]], items: dict[str, FactCheckItem],
             calibration: Calibration) -> list[dict[str, Any]]:
    """The records with "score" and "missing" recomputed from the stored judgement as today's code scores them."""
    return [record | scored_fields(items[record["id"]], stored_judgement(record), calibration) for record in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--eval-data", type=Path)
    args = parser.parse_args()
    run = RunDir(args.run)
    config = run.config()
    if config.get("mode") != "fact-check":
        sys.exit(f"{args.run} is not a fact-check run (rag eval wice|begin|halueval)")
    settings = load_settings(**({"eval_data": args.eval_data} if args.eval_data else {}))
    items = {item.id: item for item in FACTCHECK_DATASETS[config["dataset"]](settings.eval_data)}
    stored = run.summary()["metrics"]
    calibration = calibration_for(config["checker"])
    fresh = summarize_factcheck(rescored(run.results(), items, calibration), calibration.threshold)
    print(json.dumps({"stored": {k: stored.get(k) for k in SHOWN}, "rescored": {k: fresh.get(k) for k in SHOWN},
                      "calibration": calibration.record()}, indent=2))


if __name__ == "__main__":
    main()
