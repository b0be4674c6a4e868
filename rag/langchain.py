"""LangChain interop: the hybrid retriever as a ``BaseRetriever`` for users' own chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from rag.retrieve import Retriever


class RagRetriever(BaseRetriever):
    """Wraps :class:`rag.retrieve.Retriever`; each passage becomes a Document with doc/page/score metadata."""

    retriever: Any
    k: int = 5
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        found = self.retriever.search(query, self.k, mode=self.mode)
        return [Document(page_content=p.text, metadata={
            "doc": p.doc, "page": p.page, "score": p.score, "chunk_id": p.chunk.id,
            "start": p.chunk.start, "end": p.chunk.end}) for p in found]


def as_langchain_retriever(retriever: Retriever, k: int = 5, mode: str = "hybrid") -> RagRetriever:
    return RagRetriever(retriever=retriever, k=k, mode=mode)
