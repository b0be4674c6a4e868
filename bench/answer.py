"""Answer benchmark for one generator on this machine: retrieval latency, time to first token for a
~1,500-token prompt, decode tokens/s, total, and decode as a fraction of the memory-bandwidth bound.

    .venv/bin/python bench/answer.py [--model default|small|tiny|PATH] [--collection NAME] [-k 6]

Uses the `bench-sec10q` collection that bench/retrieval.py builds (or builds it), and the sec-10q
questions. The bound is (measured copy bandwidth) / (bytes of weights read per token).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ingest.pipeline import IngestOptions, ingest_paths  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.pipeline import AskOptions, open_pipeline  # noqa: E402
from rag.prompts import build_prompt  # noqa: E402


def copy_bandwidth_gbs(megabytes: int = 1024, repeats: int = 3) -> float:
    """Best of a few large array copies: bytes read + written per second."""
    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best / 1e9


def weight_bytes(generator) -> int:  # noqa: ANN001
    return sum(p.numel() * p.element_size() for p in generator._model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--collection", default="bench-sec10q")
    parser.add_argument("-k", type=int, default=6, help="passages in the prompt (6 x ~240 tokens ~ 1,500)")
    parser.add_argument("--questions", type=int, default=2, help="questions answered (20 are retrieved)")
    args = parser.parse_args()
    settings = load_settings(embedder="packaged", model=args.model, collection=args.collection)
    root = settings.eval_data / "sec-10q-docugami"
    ingest_paths([root / "docs"], settings, options=IngestOptions(progress=False))
    questions = [json.loads(line)["question"] for line in (root / "qna.jsonl").read_text().splitlines()[:20]]
    pipeline = open_pipeline(settings, log=lambda message: print(message, file=sys.stderr))
    started = time.perf_counter()
    pipeline.generator.warm_up()
    print(f"model: {pipeline.generator.name}, loaded in {time.perf_counter() - started:.1f} s")
    report_retrieval(pipeline, questions, args.k)
    report_answers(pipeline, questions[: args.questions], args.k)


def report_retrieval(pipeline, questions: list[str], k: int) -> None:  # noqa: ANN001
    pipeline.retriever.search(questions[0], k)  # builds the BM25 index and loads the embedder
    latencies = []
    for question in questions:
        started = time.perf_counter()
        pipeline.retriever.search(question, k)
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"retrieval (hybrid, k={k}) over {len(questions)} questions: p50 {statistics.median(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms")


def report_answers(pipeline, questions: list[str], k: int) -> None:  # noqa: ANN001
    generator = pipeline.generator
    bound = copy_bandwidth_gbs() * 1e9 / weight_bytes(generator)
    for question in questions:
        found = pipeline.retriever.search(question, k)
        prompt = build_prompt(question, found, generator.context_window - 256, generator.count_tokens)
        prompt_tokens = sum(generator.count_tokens(m["content"]) for m in prompt.messages)
        answer = pipeline.answer(question, AskOptions(k=k))
        timings, produced = answer.timings_ms, generator.count_tokens(answer.text)
        decode_seconds = max((timings["generate"] - timings["first_token"]) / 1000, 1e-9)
        rate = max(produced - 1, 0) / decode_seconds
        print(f"prompt ~{prompt_tokens} tokens: retrieve {timings['retrieve']:.0f} ms, first token "
              f"{timings['first_token'] / 1000:.1f} s, {produced} tokens, decode {rate:.2f} tok/s "
              f"({rate / bound:.0%} of the {bound:.2f} tok/s bandwidth bound), check {timings['check'] / 1000:.1f} s, "
              f"total {timings['total'] / 1000:.1f} s")


if __name__ == "__main__":
    main()
