"""One Protocol per swappable role."""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from rag.types import Continuation, GenerationOptions

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

    @property
    def fingerprint(self) -> str:
        """What tells two models of the same name apart (a local folder's files), or "" when the name
        alone does; recorded in the manifest beside the name."""
        ...

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


class JudgeModel(Protocol):
    """A decoder the LLM judge can read claims with (rag/generate.py TransformersGenerator)."""

    @property
    def name(self) -> str: ...

    def warm_up(self) -> None: ...

    def render_chat(self, messages: Messages) -> str:
        """The chat template applied as text, ready for the assistant's reply."""
        ...

    def continuations(self, prefix: str, texts: list[str], tail: str, choices: list[str],
                      batch_size: int | None = None, scored: bool = True) -> list[Continuation]:
        """The choices' probabilities after ``prefix + text + tail`` and, when scored, the text's token
        log-probabilities, for each text."""
        ...
