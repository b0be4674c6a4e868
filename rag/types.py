"""Frozen dataclasses that cross stage boundaries.

The data flow reads straight through: file -> Page -> Chunk -> (vector, row) -> Passage.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """The text of one page of a document (non-paginated formats have a single page 1)."""

    doc: str
    number: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A span of one page's text; ``text == page.text[start:end]``."""

    id: str
    doc: str
    page: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A chunk found by retrieval, with its score (higher is better)."""

    chunk: Chunk
    score: float

    @property
    def doc(self) -> str:
        return self.chunk.doc

    @property
    def page(self) -> int:
        return self.chunk.page

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass(frozen=True)
class ParsedFile:
    """What a worker makes of one file: its chunks, or the reason it could not be read."""

    path: str
    content_hash: str
    title: str = ""
    pages: int = 0
    chunks: tuple[Chunk, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    parse_seconds: float = 0.0
    chunk_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class FileOutcome:
    """One line of an ingest report."""

    path: str
    status: str  # added | updated | unchanged | removed | failed | skipped
    chunks: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class IngestReport:
    """The result of one ingest run."""

    collection: str
    files: tuple[FileOutcome, ...]
    chunks_added: int
    chunks_removed: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.files if outcome.status == status)

    @property
    def nothing_readable(self) -> bool:
        """True when no file was indexed, unchanged or removed: the run read nothing."""
        readable = ("added", "updated", "unchanged", "removed")
        return not any(outcome.status in readable for outcome in self.files)


@dataclass(frozen=True)
class GenerationOptions:
    """How to decode: greedy by default; temperature > 0 samples with top-p."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass(frozen=True)
class Continuation:
    """What a decoder makes of ``prefix + text + tail`` (rag/generate.py ``continuations``)."""

    choices: tuple[float, ...]  # P(next token is each choice) after the tail, normalised over the choices
    token_log_probs: tuple[float, ...]  # log P of each of the text's tokens, given everything before it


@dataclass(frozen=True)
class Judgement:
    """A checker's raw view of one (claim, passage) pair, before calibration."""

    support: float  # P(the passage supports the claim)
    contradict: float  # P(the passage makes the claim false)
    weakest_gain: float | None = field(default=None, kw_only=True)  # judge+gain: the lowest gain in log-probability a claim token gets from the passage

    @property
    def neutral(self) -> float:
        """P(the passage does not say): what support and contradiction leave."""
        return max(0.0, 1.0 - self.support - self.contradict)


@dataclass(frozen=True)
class Evidence:
    """Where a claim is supported: passage number (1-based) and a character span in its text."""

    passage: int
    start: int
    end: int


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement of one claim against the passages."""

    label: str  # supported | unsupported | contradicted
    score: float  # probability-like support score in [0, 1]
    evidence: Evidence | None = None
    note: str = ""


CLAIM_VERDICTS = ("supported", "unsupported", "contradicted")  # a checked claim; not "skipped" or "unchecked"


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, the passages it cites ([n], 1-based) and its check verdict."""

    text: str
    citations: tuple[int, ...] = ()
    verdict: str = "unchecked"  # unchecked | skipped | supported | unsupported | contradicted
    score: float | None = None
    evidence: Evidence | None = None
    note: str = ""


@dataclass(frozen=True)
class Answer:
    """What the UI, CLI and evaluator all receive for one question."""

    question: str
    text: str
    abstained: bool
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...]
    model: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    removed: int = 0  # sentences the strict policy dropped from ``sentences`` (``text`` says so too)
