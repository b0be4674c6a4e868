"""Which suite runs which dataset name."""

from __future__ import annotations

from rag.config import Settings
from rag.eval.harness import EvalOptions, Suite

FACT_CHECK_DATASETS = ("wice", "begin", "halueval")
DATASETS = FACT_CHECK_DATASETS


def make_suite(settings: Settings, options: EvalOptions) -> Suite:
    if options.dataset in FACT_CHECK_DATASETS:
        from rag.eval.factcheck import factcheck_suite

        return factcheck_suite(options.dataset, settings, options.limit, options.seed)
    raise ValueError(f"unknown dataset {options.dataset!r}; choose one of {', '.join(DATASETS)} or 'compare'")
