"""Retrieval over a collection: dense FAISS + BM25 over chunks, fused by reciprocal rank, the chunks of the
best-matching documents lifted, near-duplicates removed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, TypeVar, cast

from rag.collection import Collection, document_path
from rag.config import Settings
from rag.embedders import make_embedder
from rag.fusion import drop_near_duplicates, group_order, lift_by_group, reciprocal_rank_fusion
from rag.lexical import DocumentIndex, LexicalIndex
from rag.protocols import Embedder
from rag.types import Chunk, Passage

Built = TypeVar("Built")
MODES = ("hybrid", "hybrid-chunks", "dense", "bm25")
MODE_HELP = ("retrieval: hybrid (default: dense + BM25 over chunks, the chunks of the 5 best documents "
             "lifted), hybrid-chunks (without the documents), dense, bm25")


@dataclass
class Retriever:
    """Embeds a query with the collection's embedder and returns the best passages.

    ``candidates`` hits are taken from each retriever before fusion; the lexical indexes (chunks and whole
    documents) are built from the store when a mode first needs them, and rebuilt when the collection's
    dense index follows an ingest (see :meth:`Collection.refresh`).
    Searches from several threads (UI sessions sharing one retriever) run one at a time.
    """

    collection: Collection
    embedder: Embedder
    candidates: int = 50
    best_documents: int = 5  # documents whose chunks hybrid lifts; fixed, so results nest across k
    _lexical_cache: dict[str, tuple[int, object]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        embedder = embedder or make_embedder(settings.embedder, settings.device, settings.embed_batch_size)
        return cls(Collection.open_for_read(settings.collection_dir(), embedder), embedder)

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
            allowed = self._rows_of(docs) if docs else None
            depth = max(self.candidates, 2 * k)  # a large k asks each retriever for more (room for near-duplicates)
            hits = self._ranked(query, mode, allowed, depth)
            passages = self.collection.passages(hits[:depth])
        keep = drop_near_duplicates([passage.text for passage in passages])
        return [passages[i] for i in keep][:k]

    def _rows_of(self, docs: Sequence[str]) -> set[int]:
        """The rows of the documents named by file name (every document of that name) or by path (relative
        paths resolved, as ingest records them); a name that matches no document is an error, not an empty
        search."""
        rows = {doc: self.collection.store.row_ids_of([str(document_path(Path(doc))) if "/" in doc else doc])
                for doc in docs}
        unknown = [doc for doc, found in rows.items() if not found]
        if unknown:
            raise ValueError(f"no indexed document in collection {self.collection.name!r} matches {', '.join(unknown)} "
                             "(give its file name or path; `rag collections` lists them)")
        return set().union(*rows.values())

    def _ranked(self, query: str, mode: str, allowed: set[int] | None, depth: int) -> list[tuple[int, float]]:
        """Each mode builds (or reuses) only the indexes it searches."""
        dense = self._dense(query, allowed, depth) if mode != "bm25" else []
        words = self._chunk_words().search(query, depth, allowed) if mode != "dense" else []
        if mode in ("dense", "bm25"):
            return dense or words
        rankings = [[i for i, _ in dense], [i for i, _ in words]]
        chunks = reciprocal_rank_fusion(rankings)
        if mode == "hybrid-chunks":
            return chunks
        documents = self.document_index()
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
        """BM25 over whole documents, and each row's document."""
        return self._lexical("documents", DocumentIndex.build)

    def _chunk_words(self) -> LexicalIndex:
        return self._lexical("chunks", lambda rows: LexicalIndex.build((row, chunk.text) for row, chunk in rows))

    def _lexical(self, name: str, build: Callable[[list[tuple[int, Chunk]]], Built]) -> Built:
        """The named lexical index, built from the store when the collection's dense index has moved to
        another generation (so an ingest rebuilds it no more often than the dense index)."""
        generation = self.collection.index_generation
        held = self._lexical_cache.get(name)
        if held is None or held[0] != generation:
            held = self._lexical_cache[name] = (generation, build(self.collection.store.all_chunks()))
        return cast(Built, held[1])

    def close(self) -> None:
        self.collection.close()
