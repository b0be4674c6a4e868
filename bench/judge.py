"""The LLM judge's cost per claim, one suffix per forward pass vs several together on the shared prefix.

    .venv/bin/python bench/judge.py [--model default|small|tiny|PATH] [--claims 8] [--repeats 3] [--random-weights]

Judges ``--claims`` claims against the first 200 words of data/sample/helios-h2-battery-faq.md (the judge prompt of
rag/check.py) with batch sizes 1, 4 and all, prints seconds per claim for each (best of ``--repeats``) and
the largest difference between the batched and the one-at-a-time probabilities; then the seconds per
claim of the whole checker, the default judge and judge+gain (which also reads each claim token's
log-probability and the claims without the passage).

``--random-weights`` builds the architecture of the ``--model`` folder (its config.json and tokenizer suffice)
with random weights: for a machine the weights cannot be copied to. The timings hold for that shape; the
probabilities, and so the differences printed, mean nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.check import CHOICES, LLMJudge  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.generate import TransformersGenerator  # noqa: E402

PASSAGE = Path(__file__).resolve().parent.parent / "data" / "sample" / "helios-h2-battery-faq.md"
CLAIMS = ["The battery can be charged in about two hours.", "The warranty covers eight years.",
          "The pack must not be stored below freezing when fully charged.", "It weighs less than 20 kilograms.",
          "Charging above 45 degrees Celsius is blocked by the controller.", "The battery holds 4.8 kWh.",
          "A firmware update fixed the state-of-charge display.", "The cells are lithium iron phosphate.",
          "Recycling is free at authorised dealers.", "The fan runs only while charging."]


def timed(judge: LLMJudge, generator: TransformersGenerator, passage: str, claims: list[str], size: int,
          repeats: int) -> tuple[float, list[tuple[float, ...]]]:
    prefix, tail = judge._template(passage)
    best, rows = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        rows = [run.choices for run in generator.continuations(prefix, claims, tail, list(CHOICES), batch_size=size,
                                                               scored=False)]  # the default judge's pass
        best = min(best, time.perf_counter() - started)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--claims", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--random-weights", action="store_true")
    args = parser.parse_args()
    if args.random_weights and not Path(args.model).is_dir():
        parser.error("--random-weights needs --model FOLDER (a model folder with config.json and a tokenizer)")
    settings = load_settings(model=args.model)
    generator = TransformersGenerator(settings.model, settings.device, settings.model_cache_dir)
    if args.random_weights:
        with_random_weights(generator, Path(args.model))
    generator.warm_up()
    passage = " ".join(PASSAGE.read_text().split()[:200])
    claims = (CLAIMS * (args.claims // len(CLAIMS) + 1))[:args.claims]
    print(f"{generator.name} on {generator._model.device}, {len(claims)} claims, passage of {len(passage.split())} words")
    print_batches(generator, passage, claims, args.repeats)
    for checker in (LLMJudge(generator), LLMJudge(generator, measure_gain=True)):
        whole = min(timed_judge(checker, passage, claims) for _ in range(args.repeats))
        print(f"{checker.name}, whole checker: {whole / len(claims):.3f} s per claim")


def print_batches(generator: TransformersGenerator, passage: str, claims: list[str], repeats: int) -> None:
    """Seconds per claim one at a time, in batches of 4 and all together, and how far the batched
    probabilities drift from the one-at-a-time ones."""
    judge = LLMJudge(generator)
    timed(judge, generator, passage, claims[:2], 1, 1)  # warm the kernels
    one_s, one = timed(judge, generator, passage, claims, 1, repeats)
    print(f"batch 1: {one_s / len(claims):.3f} s per claim")
    for size in sorted({4, len(claims)}):
        seconds, rows = timed(judge, generator, passage, claims, size, repeats)
        drift = max(abs(a - b) for r1, r2 in zip(one, rows) for a, b in zip(r1, r2))
        print(f"batch {size}: {seconds / len(claims):.3f} s per claim ({one_s / seconds:.2f}x batch 1); "
              f"largest probability difference to batch 1: {drift:.4f}")


def with_random_weights(generator: TransformersGenerator, folder: Path) -> None:
    """Give ``generator`` the folder's architecture and tokenizer with random weights (timings only)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from rag.embedders import resolve_device
    from rag.generate import pick_dtype

    device = resolve_device(generator.device)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=pick_dtype(device))
    generator._model, generator._tokenizer = model.eval(), AutoTokenizer.from_pretrained(folder)
    generator._name = f"{folder.name} (random weights)"


def timed_judge(judge: LLMJudge, passage: str, claims: list[str]) -> float:
    """Seconds the checker takes to judge every claim against the passage."""
    started = time.perf_counter()
    judge.judge([(claim, passage) for claim in claims])
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
