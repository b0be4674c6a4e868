"""BM25 over a collection's chunks (bm25s), English stop words and stemming."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np


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
