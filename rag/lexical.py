"""BM25 over a collection's chunks (bm25s), English stop words and stemming."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from rag.types import Chunk


logging.getLogger("bm25s").setLevel(logging.WARNING)


def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:  # stemming is a refinement; BM25 works without it
        return None
    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 tokens: lower-cased words of 2+ characters, no English stop words, stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


@dataclass
class LexicalIndex:
    """A BM25 model and the store row id of each of its documents."""

    row_ids: np.ndarray
    model: Any

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str]]) -> LexicalIndex:
        import bm25s

        pairs = list(rows)
        model = bm25s.BM25()
        if pairs:
            model.index(tokenize([text for _, text in pairs]), show_progress=False)
        return cls(np.asarray([row_id for row_id, _ in pairs], dtype=np.int64), model)

    def __len__(self) -> int:
        return len(self.row_ids)

    def search(self, query: str, k: int, allowed_rows: set[int] | None = None) -> list[tuple[int, float]]:
        """The best (row id, BM25 score) pairs with a positive score, best first."""
        if not len(self) or k <= 0:  # an empty model has no vocabulary at all
            return []
        query_tokens = [token for token in tokenize([query])[0] if token in self.model.vocab_dict]
        if not query_tokens:
            return []
        mask = None if allowed_rows is None else np.isin(self.row_ids, list(allowed_rows)).astype(np.float32)
        documents, scores = self.model.retrieve([query_tokens], k=min(k, len(self)), show_progress=False,
                                                weight_mask=mask, n_threads=1)
        return [(int(self.row_ids[d]), float(s)) for d, s in zip(documents[0], scores[0]) if s > 0]


def covered_text(chunks: Sequence[Chunk]) -> str:
    """The text a document's chunks cover, each character once: in page and offset order, without the part
    of a chunk that overlaps the text before it; a page break or skipped blank text becomes a newline.

    >>> covered_text([Chunk("b", "d", 1, 4, 9, "c d e"), Chunk("a", "d", 1, 0, 5, "a b c"),
    ...               Chunk("c", "d", 2, 0, 1, "f")])
    'a b c d e\\nf'
    """
    parts: list[str] = []
    page, end = None, 0
    for chunk in sorted(chunks, key=lambda chunk: (chunk.page, chunk.start)):
        if chunk.page != page or chunk.start > end:
            parts.append("\n" if parts else "")
            page, end = chunk.page, chunk.start
        parts.append(chunk.text[end - chunk.start:])
        end = max(end, chunk.end)
    return "".join(parts)


@dataclass
class DocumentIndex:
    """BM25 over whole documents (each document's chunks together) and the document of every chunk row.

    A question that names what a document is about (a company, a product) finds the document this way
    even when the chunk that answers it never repeats the name.
    """

    documents: list[str]  # document paths; the BM25 model's ids are positions in this list
    bm25: LexicalIndex
    row_ids: np.ndarray  # every chunk's row id, ascending
    row_documents: np.ndarray  # the position in ``documents`` of each row's document

    @classmethod
    def build(cls, rows: Iterable[tuple[int, Chunk]]) -> DocumentIndex:
        """From (row id, chunk) of every chunk."""
        ordered = sorted(rows, key=lambda pair: pair[0])
        documents = sorted({chunk.doc for _, chunk in ordered})
        position = {doc: i for i, doc in enumerate(documents)}
        chunks: dict[int, list[Chunk]] = {i: [] for i in range(len(documents))}
        for _, chunk in ordered:
            chunks[position[chunk.doc]].append(chunk)
        return cls(documents, LexicalIndex.build((i, covered_text(parts)) for i, parts in chunks.items()),
                   np.asarray([row for row, _ in ordered], dtype=np.int64),
                   np.asarray([position[chunk.doc] for _, chunk in ordered], dtype=np.int64))

    def document_of(self, row_id: int) -> str | None:
        """The document of a chunk row; None for a row the index does not hold (written after it was built)."""
        return self.documents_of([row_id])[row_id]

    def documents_of(self, row_ids: list[int]) -> dict[int, str | None]:
        """``document_of`` for many rows in one lookup."""
        positions = self._positions(row_ids).tolist()
        return {row: self.documents[p] if p >= 0 else None for row, p in zip(row_ids, positions)}

    def search(self, query: str, k: int, allowed_rows: set[int] | None = None) -> list[str]:
        """The ``k`` best documents by BM25 over their whole text, among those of ``allowed_rows``."""
        allowed = None if allowed_rows is None else {p for p in self._positions(list(allowed_rows)).tolist() if p >= 0}
        return [self.documents[i] for i, _ in self.bm25.search(query, k, allowed)]

    def _positions(self, row_ids: list[int]) -> np.ndarray:
        """The document position of each chunk row, -1 for a row the index does not hold."""
        wanted = np.asarray(row_ids, dtype=np.int64)
        if not len(self.row_ids):
            return np.full(len(wanted), -1, dtype=np.int64)
        found = np.minimum(np.searchsorted(self.row_ids, wanted), len(self.row_ids) - 1)
        return np.where(self.row_ids[found] == wanted, self.row_documents[found], -1)
