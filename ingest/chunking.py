"""Pure page -> chunk splitting, sized in the embedder's tokens, keeping page and character offsets.

The splitting itself is langchain-text-splitters' recursive splitter (paragraphs, lines, words,
characters); this module adds exact character offsets, a hard token bound and content-hash ids.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.protocols import TokenCounter
from rag.types import Chunk, Page

_SEPARATORS = ["\n\n", "\n", ". ", " ", ""]


@dataclass(frozen=True)
class ChunkSettings:
    """Chunk size and overlap, in the embedder's tokens."""

    tokens: int = 240
    overlap: int = 32

    def __post_init__(self) -> None:
        if self.tokens < 8 or not 0 <= self.overlap < self.tokens:
            raise ValueError(f"need tokens >= 8 and 0 <= overlap < tokens, got {self}")


def chunk_id(doc: str, page: int, start: int, text: str) -> str:
    """A deterministic content-hash id: the same text at the same place gets the same id.

    >>> chunk_id("a.pdf", 1, 0, "hello") == chunk_id("a.pdf", 1, 0, "hello")
    True
    """
    key = "\x1f".join((doc, str(page), str(start), text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def chunk_page(page: Page, settings: ChunkSettings, count_tokens: TokenCounter) -> list[Chunk]:
    """Split one page into chunks with ``chunk.text == page.text[chunk.start:chunk.end]``."""
    return [
        Chunk(chunk_id(page.doc, page.number, start, page.text[start:end]), page.doc, page.number,
              start, end, page.text[start:end])
        for start, end in split_spans(page.text, settings, count_tokens)
    ]


def split_spans(text: str, settings: ChunkSettings, count_tokens: TokenCounter) -> list[tuple[int, int]]:
    """Character spans of the chunks of ``text``, in order.

    Every non-blank character lies in some span and no span exceeds ``settings.tokens`` tokens.

    >>> split_spans("one two three", ChunkSettings(tokens=8, overlap=0), lambda s: len(s.split()))
    [(0, 13)]
    """
    spans: list[tuple[int, int]] = []
    for piece in _split(text, settings, count_tokens):
        span = _locate(text, piece, spans)
        if span is not None:
            spans.append(span)
    return spans


def _split(text: str, settings: ChunkSettings, count_tokens: TokenCounter) -> list[str]:
    """Langchain's split, with any piece over the bound split again more finely."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.tokens, chunk_overlap=settings.overlap,
        length_function=count_tokens, separators=_SEPARATORS, keep_separator="end",
    )
    pieces: list[str] = []
    for piece in splitter.split_text(text):
        if count_tokens(piece) <= settings.tokens or len(piece) <= 1:
            pieces.append(piece)
        else:
            smaller = ChunkSettings(max(8, settings.tokens * 3 // 4), min(settings.overlap, 4))
            pieces.extend(_split(piece, smaller, count_tokens) if smaller.tokens < settings.tokens
                          else _hard_split(piece, settings.tokens, count_tokens))
    return pieces


def _hard_split(piece: str, limit: int, count_tokens: TokenCounter) -> list[str]:
    """Last resort for text the separators cannot split under the bound: halve until it fits."""
    if count_tokens(piece) <= limit or len(piece) <= 1:
        return [piece]
    middle = len(piece) // 2
    return _hard_split(piece[:middle], limit, count_tokens) + _hard_split(piece[middle:], limit, count_tokens)


_BLANK = re.compile(r"\s*")


def _locate(text: str, piece: str, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Where ``piece`` sits: the latest occurrence after the previous start that leaves no gap.

    Overlapping chunks start before the previous end; adjacent ones start after blank text only.
    None for a piece that only repeats text already placed (the splitter's overlap can emit one
    on highly repetitive text).
    """
    previous_start, previous_end = spans[-1] if spans else (-1, 0)
    gap_end = _BLANK.match(text, previous_end).end()  # type: ignore[union-attr]  (it matches "" at least)
    best = text.find(piece, previous_start + 1)
    candidate = best
    while candidate != -1 and candidate <= gap_end:  # searches bounded near the previous chunk: linear in the page
        best = candidate
        candidate = text.find(piece, candidate + 1, gap_end + len(piece))
    if best == -1:
        if piece in text[: previous_end]:
            return None
        raise AssertionError(f"chunk text not found in page text: {piece[:40]!r}")
    return best, best + len(piece)
