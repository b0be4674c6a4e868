"""Retrieval over a collection: dense FAISS + BM25 over chunks, fused by reciprocal rank, the chunks of the
best-matching documents lifted, near-duplicates removed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from rag.collection import Collection
from rag.config import Settings
from rag.embedders import make_embedder
from rag.fusion import drop_near_duplicates, group_order, lift_by_group, reciprocal_rank_fusion
from rag.lexical import DocumentIndex, LexicalIndex
from rag.protocols import Embedder
from rag.types import Passage

MODES = ("hybrid", "hybrid-chunks", "dense", "bm25")
MODE_HELP = ("retrieval: hybrid (default: dense + BM25 over chunks, the chunks of the 5 best documents "
             "lifted), hybrid-chunks (without the documents), dense, bm25")


@dataclass
class Retriever:
    """Embeds a query with the collection's embedder and returns the best passages.

    ``candidates`` hits are taken from each retriever before fusion; the lexical indexes (chunks and whole
    documents) are built from the store and rebuilt when the store's generation changes (an ingest ran).
    Searches from several threads (UI sessions sharing one retriever) run one at a time.
    """

    collection: Collection
    embedder: Embedder
    candidates: int = 50
    best_documents: int = 5  # documents whose chunks hybrid lifts; fixed, so results nest across k
    _lexical: tuple[LexicalIndex, DocumentIndex] | None = field(default=None, init=False, repr=False)
    _lexical_generation: int = field(default=-1, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        embedder = embedder or make_embedder(settings.embedder, settings.device, settings.embed_batch_size)
        return cls(Collection.open_for_read(settings.collection_dir(), embedder.name, embedder.fingerprint), embedder)

    def search(self, query: str, k: int = 5, mode: str = "hybrid", docs: Sequence[str] | None = None) -> list[Passage]:
        """The ``k`` best passages; ``docs`` limits the search to documents given by path or file name."""
        if not query.strip():
            raise ValueError("the query is empty")
        if k < 1:
            raise ValueError(f"k must be at least 1 (got {k})")
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        with self._lock:
            self.collection.refresh()
            allowed = self.collection.store.row_ids_of(docs) if docs else None
            depth = max(self.candidates, 2 * k)  # a large k asks each retriever for more (room for near-duplicates)
            hits = self._ranked(query, mode, allowed, depth)
            passages = self.collection.passages(hits[:depth])
        keep = drop_near_duplicates([passage.text for passage in passages])
        return [passages[i] for i in keep][:k]

    def _ranked(self, query: str, mode: str, allowed: set[int] | None, depth: int) -> list[tuple[int, float]]:
        lexical, documents = self._lexical_indexes()  # one snapshot for the whole search
        dense = self._dense(query, allowed, depth) if mode != "bm25" else []
        words = lexical.search(query, depth, allowed) if mode != "dense" else []
        if mode in ("dense", "bm25"):
            return dense or words
        rankings = [[i for i, _ in dense], [i for i, _ in words]]
        chunks = reciprocal_rank_fusion(rankings)
        if mode == "hybrid-chunks":
            return chunks
        document_of = documents.documents_of([i for i, _ in chunks]).get  # every dense row is among the chunks
        best = self._best_documents(query, documents, document_of, rankings[0], allowed)
        return lift_by_group(chunks, document_of, best)

    def _best_documents(self, query: str, documents: DocumentIndex, document_of: Callable[[int], str | None],
                        dense: list[int], allowed: set[int] | None) -> list[str]:
        """The ``best_documents`` best documents, best first: their best dense chunk's rank fused with BM25
        over their whole text. A question that names a filing's company thus lifts that filing's chunks even
        where they never name it (as long as they are among the candidates). Where every document is one
        chunk, this ranking is the chunks' own and changes little. Rows written after the indexes were built
        (an ingest during the search) have no document here and are passed over."""
        by_meaning = [doc for doc in group_order(dense, document_of) if doc is not None]
        by_words = documents.search(query, self.candidates, allowed)
        return [doc for doc, _ in reciprocal_rank_fusion([by_meaning, by_words])][: self.best_documents]

    def _dense(self, query: str, allowed: set[int] | None, depth: int) -> list[tuple[int, float]]:
        return self.collection.index.search(self.embedder.embed([query])[0], depth, allowed)

    def document_index(self) -> DocumentIndex:
        return self._lexical_indexes()[1]

    def _lexical_indexes(self) -> tuple[LexicalIndex, DocumentIndex]:
        generation = self.collection.store.generation
        if self._lexical is None or generation != self._lexical_generation:
            rows = self.collection.store.all_chunks()
            self._lexical = LexicalIndex.build((row, chunk.text) for row, chunk in rows), DocumentIndex.build(rows)
            self._lexical_generation = generation
        return self._lexical

    def close(self) -> None:
        self.collection.close()
