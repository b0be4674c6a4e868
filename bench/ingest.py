"""Ingest benchmark: pages/s, chunks/s, the time split and peak memory, then a no-change re-run.

    .venv/bin/python bench/ingest.py [FOLDER] [--embedder packaged|hash] [--keep DIR]

FOLDER defaults to <eval-data>/sec-10q-docugami/docs (20 PDFs, 1,003 pages).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ingest.pipeline import IngestOptions, ingest_paths  # noqa: E402
from rag.collection import Collection  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.types import IngestReport  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--embedder", default="packaged")
    parser.add_argument("--keep", type=Path, help="data dir to keep (default: a temporary one)")
    args = parser.parse_args()
    settings = load_settings(embedder=args.embedder)
    folder = args.folder or settings.eval_data / "sec-10q-docugami" / "docs"
    with tempfile.TemporaryDirectory() as scratch:
        settings = settings.with_overrides(data_dir=args.keep or Path(scratch), collection="bench")
        first = ingest_paths([folder], settings, options=IngestOptions(progress=False))
        again = ingest_paths([folder], settings, options=IngestOptions(progress=False))
        with Collection.open_for_read(settings.collection_dir()) as collection:
            pages = sum(record.pages for record in collection.store.documents())
    print_figures(folder, first, again, pages, os.cpu_count() or 1)


def print_figures(folder: Path, first: IngestReport, again: IngestReport, pages: int, cores: int) -> None:
    chunks, seconds = first.chunks_added, first.seconds
    timings = first.timings
    print(f"folder: {folder} ({len(first.files)} files, {pages} pages) on {cores} cores")
    print(f"files: {first.count('added')} added, {first.count('failed')} failed")
    print(f"first run: {seconds:.1f} s  |  {pages / seconds:.1f} pages/s  |  {chunks / seconds:.1f} chunks/s  ({chunks} chunks)")
    print("time split (s): " + ", ".join(
        f"{step} {timings.get(step, 0.0):.1f}" for step in ("hash", "parse", "chunk", "embed", "write")))
    print("  (parse and chunk are summed over the worker processes; embed and write are wall time)")
    print(f"embed rate: {chunks / max(timings.get('embed', 0.0), 1e-9):.1f} chunks/s")
    print(f"no-change re-run: {again.seconds:.2f} s, {again.chunks_added} chunks added, "
          f"{again.count('unchanged')} unchanged")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: main process {own:.0f} MB, largest worker {workers:.0f} MB")


if __name__ == "__main__":
    main()
