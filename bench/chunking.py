"""Chunking one large single-page text (a big .txt, .md or .html file is one page): seconds per size.

    .venv/bin/python bench/chunking.py [--mb 1 4 16]

Words are counted as tokens (the splitting and offset work is measured, not the tokenizer). Time that
grows with the square of the size means chunk placement scans the page once per chunk.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.chunking import ChunkSettings, chunk_page  # noqa: E402
from rag.types import Page  # noqa: E402


def page_of(megabytes: float) -> Page:
    """One page of seeded pseudo-words without paragraph breaks, about ``megabytes`` MB long."""
    generator = random.Random(1)
    stems = ("harbour", "crane", "quay", "ship", "tug", "berth", "pilot")
    words = [f"{generator.choice(stems)}{generator.randint(0, 999)}" for _ in range(int(megabytes * 118_000))]
    return Page("bench.txt", 1, " ".join(words))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1.0, 4.0, 16.0])
    for megabytes in parser.parse_args().mb:
        page = page_of(megabytes)
        started = time.perf_counter()
        chunks = chunk_page(page, ChunkSettings(240, 32), lambda text: len(text.split()))
        seconds = time.perf_counter() - started
        print(f"{len(page.text) / 1e6:6.1f} MB  {len(chunks):6d} chunks  {seconds:6.2f} s")


if __name__ == "__main__":
    main()
