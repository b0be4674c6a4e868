"""Which suite runs which dataset: fact-check datasets score the checker alone; QA datasets run the whole
pipeline over the dataset's own collection (built on first use, reused after: ingest is incremental)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.eval.harness import EvalOptions, Suite

if TYPE_CHECKING:  # imported lazily at run time: loading the datasets module is not needed to list them
    from rag.eval.qa_data import QADataset
    from rag.pipeline import Pipeline

FACT_CHECK_DATASETS = ("wice", "begin", "halueval")
QA_DATASET_NAMES = ("sec10q", "pubmedqa", "clapnq", "halueval-qa")
DATASETS = QA_DATASET_NAMES + FACT_CHECK_DATASETS


def make_suite(settings: Settings, options: EvalOptions) -> Suite:
    if options.dataset in FACT_CHECK_DATASETS:
        if options.retrieval_only:
            raise ValueError(f"{options.dataset} is a fact-check dataset: it has no retrieval to score")
        from rag.eval.factcheck import factcheck_suite

        return factcheck_suite(options.dataset, settings, options.limit, options.seed)
    return retrieval_suite(settings, options) if options.retrieval_only else qa_suite(settings, options)


def qa_suite(settings: Settings, options: EvalOptions) -> Suite:
    from rag.eval.qa import QASuite
    from rag.pipeline import AskOptions

    dataset, pipeline = _dataset_and_pipeline(settings, options)
    pipeline.generator.warm_up()
    return QASuite(dataset, pipeline, AskOptions(k=options.k, mode=options.retrieval), options.limit, options.seed)


def retrieval_suite(settings: Settings, options: EvalOptions) -> Suite:
    """Retrieval alone: the embedder and the lexical index load (one warm-up search, so the first question's
    time is not theirs); the generator never does."""
    from rag.eval.retrieval import RetrievalSuite

    dataset, pipeline = _dataset_and_pipeline(settings, options)
    if not any(item.gold_docs for item in dataset.items):
        raise ValueError(f"{dataset.name} has no gold documents (gold_docs): there is no retrieval to score")
    pipeline.retriever.search(dataset.items[0].question, options.k, options.retrieval)
    return RetrievalSuite(dataset, pipeline.retriever, options.k, options.retrieval, options.limit, options.seed)


def _dataset_and_pipeline(settings: Settings, options: EvalOptions) -> tuple[QADataset, Pipeline]:
    """The QA dataset and the shared pipeline over its collection (indexed on first use; no model loads)."""
    from rag.pipeline import shared_pipeline

    dataset = qa_dataset(settings, options.dataset, options.collection, options.documents)
    collection = options.collection or _index(dataset.documents, _collection_name(dataset, options), settings,
                                              options.progress)
    return dataset, shared_pipeline(settings.with_overrides(collection=collection))


def _collection_name(dataset: QADataset, options: EvalOptions) -> str:
    """eval-<dataset>; your own JSONL also by its documents folder, so two folders never share one."""
    if options.dataset == dataset.name:
        return f"eval-{dataset.name}"
    folder = hashlib.sha256(str(dataset.documents.resolve()).encode()).hexdigest()[:8]
    return f"eval-{re.sub(r'[^A-Za-z0-9._-]', '_', dataset.name)[:40]}-{folder}"


def qa_dataset(settings: Settings, name: str, collection: str | None = None,
               documents: Path | None = None) -> QADataset:
    """A packaged QA dataset by name, or a JSONL file of your own (with its documents or a collection)."""
    from rag.eval.qa_data import QA_DATASETS, jsonl_dataset, reading_eval_data

    if name in QA_DATASETS:
        with reading_eval_data(settings.eval_data, name):
            return QA_DATASETS[name](settings.eval_data, settings.data_dir / "eval-corpora")
    path = Path(name)
    if path.suffix == ".jsonl" and path.is_file():
        if documents is None and collection is None:
            raise ValueError("a JSONL dataset needs --docs FOLDER (to index) or --collection NAME (already indexed)")
        return jsonl_dataset(path, documents or path.parent)
    raise ValueError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)}, a .jsonl file, "
                     "'compare RUN_A RUN_B', 'recheck RUN', 'report RUN' or 'export RUN'")


def _index(documents: Path, collection: str, settings: Settings, progress: bool) -> str:
    from ingest.pipeline import IngestOptions, ingest_paths

    report = ingest_paths([documents], settings.with_overrides(collection=collection),
                          options=IngestOptions(progress=progress))
    if report.nothing_readable:
        raise ValueError(f"no readable documents in {documents}")
    return collection
