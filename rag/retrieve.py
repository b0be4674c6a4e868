"""Retrieval over a collection: dense FAISS search (hybrid BM25 fusion builds on this)."""

from __future__ import annotations

from dataclasses import dataclass

from rag.collection import Collection
from rag.config import Settings
from rag.embedders import make_embedder
from rag.protocols import Embedder
from rag.types import Passage


@dataclass
class Retriever:
    """Embeds a query with the collection's embedder and returns the best passages."""

    collection: Collection
    embedder: Embedder

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        embedder = embedder or make_embedder(settings.embedder, settings.device, settings.embed_batch_size)
        return cls(Collection.open_for_read(settings.collection_dir(), embedder.name), embedder)

    def search(self, query: str, k: int = 5) -> list[Passage]:
        if not query.strip():
            raise ValueError("the query is empty")
        return self.collection.search(self.embedder.embed([query])[0], k)

    def close(self) -> None:
        self.collection.close()
