"""Document-level retrieval quality of every retrieval mode (rag.retrieve.MODES) on sec-10q (195 questions) and PubMedQA
(the 500 official test questions over all 1,000 abstracts).

    .venv/bin/python bench/retrieval.py [--dataset sec10q|pubmedqa|all] [-k 5]

Collections are built under the data dir (`bench-sec10q`, `bench-pubmedqa`) and reused on later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ingest.pipeline import IngestOptions, ingest_paths  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.eval.metrics import hit_at_k, recall_at_k, reciprocal_rank  # noqa: E402
from rag.retrieve import MODES, Retriever  # noqa: E402

Question = tuple[str, list[str]]  # (question, gold document file names)


def sec10q(settings: Settings) -> tuple[Path, list[Question]]:
    root = settings.eval_data / "sec-10q-docugami"
    rows = [json.loads(line) for line in (root / "qna.jsonl").read_text().splitlines() if line.strip()]
    return root / "docs", [(row["question"], row["gold_docs"]) for row in rows]


def pubmedqa(settings: Settings) -> tuple[Path, list[Question]]:
    root = settings.eval_data / "pubmedqa-pqal"
    items = json.loads((root / "ori_pqal.json").read_text())
    corpus = settings.data_dir / "corpora" / "pubmedqa"
    corpus.mkdir(parents=True, exist_ok=True)
    for pmid, item in items.items():
        target = corpus / f"{pmid}.txt"
        if not target.exists():
            target.write_text("\n\n".join(item["CONTEXTS"]))
    test = json.loads((root / "test_ground_truth.json").read_text())
    return corpus, [(items[pmid]["QUESTION"], [f"{pmid}.txt"]) for pmid in test]


def evaluate(retriever: Retriever, questions: list[Question], mode: str, k: int) -> dict[str, float]:
    recalls, hits, ranks, latencies = [], [], [], []
    for question, gold in questions:
        started = time.perf_counter()
        passages = retriever.search(question, 50, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [Path(passage.doc).name for passage in passages]
        recalls.append(recall_at_k(ranked, gold, k))
        hits.append(hit_at_k(ranked, gold, k))
        ranks.append(reciprocal_rank(ranked, gold))
    return {"recall": statistics.fmean(recalls), "hit": statistics.fmean(hits), "mrr": statistics.fmean(ranks),
            "p50_ms": statistics.median(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("sec10q", "pubmedqa", "all"), default="all")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    base = load_settings(embedder="packaged")
    datasets = {"sec10q": sec10q, "pubmedqa": pubmedqa}
    for name in (datasets if args.dataset == "all" else [args.dataset]):
        settings = base.with_overrides(collection=f"bench-{name}")
        folder, questions = datasets[name](settings)
        report = ingest_paths([folder], settings, options=IngestOptions(progress=False))
        print(f"{name}: {len(questions)} questions, collection built in {report.seconds:.0f} s "
              f"({report.count('unchanged')} unchanged files)")
        retriever = Retriever.open(settings)
        for mode in MODES:
            scores = evaluate(retriever, questions, mode, args.k)
            print(f"  {mode:<13} recall@{args.k} {scores['recall']:.3f}  hit@{args.k} {scores['hit']:.3f}  "
                  f"MRR {scores['mrr']:.3f}  retrieval p50 {scores['p50_ms']:.0f} ms")
        retriever.close()


if __name__ == "__main__":
    main()
