"""The steps of an ingest, each a plain function a runner can map over files.

``parse_and_chunk`` runs in worker processes (it imports no model); embedding and writing run
in the process that owns the collection.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.chunking import ChunkSettings, chunk_page
from ingest.loaders import PDF_SUFFIXES, LoadedDocument, LoadError, load
from ingest.ocr import Ocr, needs_ocr, ocr_pages, unread_reason
from rag.protocols import TokenCounter
from rag.types import ParsedFile


@dataclass(frozen=True)
class FileTask:
    """One file to parse and chunk; picklable so it can cross to a worker process."""

    path: str
    content_hash: str
    size: int
    chunking: ChunkSettings
    count_tokens: TokenCounter
    ocr: Ocr | None = None  # None: pages without a text layer stay empty
    ocr_budget_s: float = 240.0  # from the start of parsing, inside the runner's per-file timeout
    max_bytes: int | None = None  # a file grown past this since it was planned is refused (--max-file-mb)


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_and_chunk(task: FileTask) -> ParsedFile:
    """Load a file and split its pages into chunks; a failure comes back as ``error``, never raised.

    The file is read once, here: the result carries the hash of the bytes parsed, which differ from the
    planned ones when the file changed meanwhile (the next ingest then sees it as it was indexed)."""
    try:
        data = _read(task)
    except (OSError, LoadError) as error:
        reason = f"cannot read the file: {error.strerror or error}" if isinstance(error, OSError) else str(error)
        return failed_task(task, reason)
    return _parse(replace(task, content_hash=hashlib.sha256(data).hexdigest()), data)


def _read(task: FileTask) -> bytes:
    """The file's bytes, at most ``task.max_bytes`` of them."""
    with open(task.path, "rb") as handle:
        data = handle.read() if task.max_bytes is None else handle.read(task.max_bytes + 1)
    if task.max_bytes is not None and len(data) > task.max_bytes:
        raise LoadError("the file grew past the size limit (--max-file-mb) during the ingest")
    return data


def _parse(task: FileTask, data: bytes) -> ParsedFile:
    started = time.perf_counter()
    try:
        document, unread = _load_with_ocr(task, data, deadline=time.monotonic() + task.ocr_budget_s)
    except LoadError as error:
        return ParsedFile(task.path, task.content_hash, error=str(error))
    except MemoryError:
        return ParsedFile(task.path, task.content_hash, error="ran out of memory while parsing (worker memory limit)")
    except Exception as error:  # any library failure on hostile input is reported, not raised
        return ParsedFile(task.path, task.content_hash, error=f"could not parse: {type(error).__name__}: {error}"[:300])
    empty_pages = [page.number for page in document.pages if not page.text.strip()]
    if len(empty_pages) == len(document.pages):
        return ParsedFile(task.path, task.content_hash, document.title, len(document.pages),
                          warnings=document.notes, error=_no_text_reason(len(document.pages), unread))
    parsed = time.perf_counter()
    chunks = tuple(chunk for page in document.pages
                   for chunk in chunk_page(page, task.chunking, task.count_tokens))
    warnings = document.notes + ((_empty_pages_note(empty_pages, unread),) if empty_pages else ())
    return ParsedFile(task.path, task.content_hash, document.title, len(document.pages), chunks, warnings,
                      parse_seconds=parsed - started, chunk_seconds=time.perf_counter() - parsed)


def _load_with_ocr(task: FileTask, data: bytes, deadline: float) -> tuple[LoadedDocument, str]:
    """The file's pages, a PDF's pages without a text layer read by OCR when it is on and installed;
    and why pages still without text have none."""
    path = Path(task.path)
    document = load(path, task.path, data)
    if path.suffix.lower() not in PDF_SUFFIXES:
        return document, NOT_A_SCAN  # a text, Markdown or HTML file without text is just empty
    if task.ocr is None or not task.ocr.available():
        return document, unread_reason(task.ocr)
    if not any(needs_ocr(page) for page in document.pages):
        return document, ""
    outcome = ocr_pages(document.pages, document.source or data, task.ocr, deadline)
    read = (f"read by OCR ({task.ocr.name}): page(s) {page_ranges(list(outcome.read))}",) if outcome.read else ()
    return replace(document, pages=outcome.pages, notes=document.notes + read), outcome.unread_reason


def failed_task(task: FileTask, reason: str) -> ParsedFile:
    return ParsedFile(task.path, task.content_hash, error=reason)


def waves(tasks: list[FileTask], max_files: int = 64, max_bytes: int = 256 << 20) -> list[list[FileTask]]:
    """Group tasks so that parsing (all cores) and embedding (all cores) alternate, never overlap.

    Running the parser processes beside torch's threads oversubscribes the cores and slows both;
    waves keep each phase alone on the machine while bounding the chunks held in memory.
    """
    groups: list[list[FileTask]] = [[]]
    for task in tasks:
        if groups[-1] and (len(groups[-1]) >= max_files or sum(t.size for t in groups[-1]) + task.size > max_bytes):
            groups.append([])
        groups[-1].append(task)
    return [group for group in groups if group]


def page_ranges(numbers: list[int]) -> str:
    """Compact page list.

    >>> page_ranges([1, 2, 3, 5, 7, 8])
    '1-3, 5, 7-8'
    """
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


NOT_A_SCAN = "not a PDF"  # the unread reason of a file that is not a PDF: OCR has nothing to read there


def _no_text_reason(page_count: int, unread: str) -> str:
    if unread == NOT_A_SCAN:
        return "the file holds no text"
    return (f"no extractable text on any of its {page_count} page(s): image-only or scanned"
            f"{_because(unread)}") if page_count else "the document has no pages"


def _empty_pages_note(empty_pages: list[int], unread: str) -> str:
    return f"no text on page(s) {page_ranges(empty_pages)}: image-only or scanned{_because(unread)}"


def _because(unread: str) -> str:
    return f" ({unread})" if unread else ""
