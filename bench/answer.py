"""Answer benchmark for one generator on this machine: retrieval latency, time to first token for a
~1,500-token prompt, decode tokens/s, total, and decode as a fraction of the memory-bandwidth bound.

    .venv/bin/python bench/answer.py [--set sample|sec10q] [--model default|small|tiny|PATH] [-k 6]

--set sample (default): the sample documents (collection `bench-sample`) and questions they answer, so the
fact-check time of real answers prints next to their generation time. --set sec10q: the `bench-sec10q`
collection that bench/retrieval.py builds (or builds it) and the sec-10q questions (long ~1,500-token prompts).
The bound is (measured copy bandwidth) / (bytes of weights read per token).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ingest.pipeline import IngestOptions, ingest_paths  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.generate import TransformersGenerator  # noqa: E402
from rag.pipeline import AskOptions, Pipeline, open_pipeline  # noqa: E402
from rag.prompts import build_prompt  # noqa: E402


def copy_bandwidth_gbs(megabytes: int = 1024, repeats: int = 3) -> float:
    """Best of a few large tensor copies (all torch threads), counting bytes read + written."""
    import torch

    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.numel() * 4 / best / 1e9


def bytes_read_per_token(generator: TransformersGenerator) -> int:
    """Weights a decode step streams from memory: all but the input embedding table (a row lookup),
    unless that table is tied to the output projection, which reads it whole."""
    model = generator._model
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    embedding = model.get_input_embeddings().weight
    tied = embedding.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    return total if tied else total - embedding.numel() * embedding.element_size()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--set", choices=("sample", "sec10q"), default="sample", help="documents and questions")
    parser.add_argument("-k", type=int, default=6, help="passages in the prompt (6 x ~240 tokens ~ 1,500)")
    parser.add_argument("--questions", type=int, default=3, help="questions answered (all are retrieved)")
    args = parser.parse_args()
    settings = load_settings(embedder="packaged", model=args.model, collection=f"bench-{args.set}")
    folder, questions = sample_questions() if args.set == "sample" else sec10q_questions(settings.eval_data)
    ingest_paths([folder], settings, options=IngestOptions(progress=False))
    pipeline = open_pipeline(settings, log=lambda message: print(message, file=sys.stderr))
    started = time.perf_counter()
    pipeline.generator.warm_up()
    print(f"model: {pipeline.generator.name}, loaded in {time.perf_counter() - started:.1f} s")
    report_retrieval(pipeline, questions, args.k)
    report_answers(pipeline, questions[: args.questions], args.k)
    report_decode(pipeline, questions[0])


SAMPLE_QUESTIONS = ("How deep is the main channel of the Port of Valmara?",
                    "When was the Brindlewood library founded and how many maps does it hold?",
                    "How long does the Helios H2 battery take to charge fully?")


def sample_questions() -> tuple[Path, list[str]]:
    folder = Path(__file__).resolve().parent.parent / "data" / "sample"
    if not any(folder.glob("*.pdf")):
        subprocess.run([sys.executable, str(folder.parent / "make_sample_docs.py")], check=True)
    return folder, list(SAMPLE_QUESTIONS)


def sec10q_questions(eval_data: Path) -> tuple[Path, list[str]]:
    root = eval_data / "sec-10q-docugami"
    rows = [json.loads(line) for line in (root / "qna.jsonl").read_text().splitlines() if line.strip()]
    return root / "docs", [row["question"] for row in rows if row["question_type"].startswith("Single-Doc")][:20]


def report_retrieval(pipeline: Pipeline, questions: list[str], k: int) -> None:
    pipeline.retriever.search(questions[0], k)  # builds the BM25 index and loads the embedder
    latencies = []
    for question in questions:
        started = time.perf_counter()
        pipeline.retriever.search(question, k)
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"retrieval (hybrid, k={k}) over {len(questions)} questions: p50 {statistics.median(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms")


def report_answers(pipeline: Pipeline, questions: list[str], k: int) -> None:
    generator = pipeline.generator
    for question in questions:
        found = pipeline.retriever.search(question, k)
        prompt = build_prompt(question, found, generator.context_window - 256, generator.count_tokens)
        prompt_tokens = sum(generator.count_tokens(m["content"]) for m in prompt.messages)
        answer = pipeline.answer(question, AskOptions(k=k))
        timings, produced = answer.timings_ms, generator.count_tokens(answer.text)
        claims = sum(s.verdict not in ("skipped", "unchecked") for s in answer.sentences)
        print(f"prompt ~{prompt_tokens} tokens: retrieve {timings['retrieve']:.0f} ms, first token "
              f"{timings['first_token'] / 1000:.1f} s, {produced} answer tokens in {timings['generate'] / 1000:.1f} s, "
              f"check {timings['check'] / 1000:.1f} s for {claims} claims "
              f"({timings['check'] / max(timings['generate'], 1):.2f} x generation), total {timings['total'] / 1000:.1f} s; "
              f"answer: {answer.text[:120]!r}")


def report_decode(pipeline: Pipeline, question: str, new_tokens: int = 64) -> None:
    """Decode rate over a long forced continuation, against the memory-bandwidth bound."""
    from rag.types import GenerationOptions

    generator = pipeline.generator
    if not isinstance(generator, TransformersGenerator):
        raise SystemExit(f"the decode bound needs a transformers model's weights, not {generator.name}")
    found = pipeline.retriever.search(question, 2)
    request = [{"role": "user", "content": "Summarise this text in detail, in at least 150 words:\n\n"
                + "\n\n".join(p.text for p in found)}]
    pieces, stamps = [], []
    for piece in generator.stream(request, GenerationOptions(max_new_tokens=new_tokens)):
        pieces.append(piece)
        stamps.append(time.perf_counter())
    tokens_after_first = generator.count_tokens("".join(pieces)) - generator.count_tokens(pieces[0])
    rate = tokens_after_first / max(stamps[-1] - stamps[0], 1e-9)
    bandwidth, weights = copy_bandwidth_gbs(), bytes_read_per_token(generator)
    bound = bandwidth * 1e9 / weights
    print(f"decode: {rate:.2f} tok/s over {tokens_after_first} tokens; bound {bound:.2f} tok/s "
          f"({weights / 1e9:.2f} GB of weights per token / {bandwidth:.1f} GB/s copy bandwidth) -> {rate / bound:.0%} of it")


if __name__ == "__main__":
    main()
