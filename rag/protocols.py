"""One Protocol per swappable role."""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from rag.types import GenerationOptions

TokenCounter = Callable[[str], int]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; loads its model in ``warm_up``."""

    @property
    def name(self) -> str:
        """Identity recorded in a collection's manifest."""
        ...

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def token_counter(self) -> TokenCounter:
        """A picklable counter of the embedder's tokens, for chunking in worker processes."""
        ...


@runtime_checkable
class VectorIndex(Protocol):
    """Inner-product search over id-mapped vectors."""

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> int: ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...


Messages = list[dict[str, str]]


@runtime_checkable
class Generator(Protocol):
    """A chat model that streams text; loads its weights in ``warm_up``."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int:
        """Tokens the prompt and the answer may use together."""
        ...

    def warm_up(self) -> None: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: Messages, options: GenerationOptions) -> Iterator[str]: ...
