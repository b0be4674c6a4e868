"""answer(question) = retrieve -> generate (streamed) -> check each sentence. Composition only."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.check import CheckSettings, Checker, LLMJudge, NLIChecker, OverlapChecker, check_answer
from rag.citations import citations, split_sentences
from rag.claims import abstains, carry_note_citations
from rag.config import Settings, load_settings
from rag.embedders import make_embedder
from rag.generate import TransformersGenerator, make_generator
from rag.models import ModelUnavailable
from rag.prompts import ABSTAIN_TEXT, Prompt, build_prompt, retry_prompt
from rag.protocols import Embedder, Generator
from rag.retrieve import Retriever
from rag.types import CLAIM_VERDICTS, Answer, GenerationOptions, Passage, Sentence


MIN_PROMPT_TOKENS = 256  # instructions, a question and at least a short passage


class QuestionTooLong(ValueError):
    """With the question in it, no passage fits the model's prompt: nothing can be answered from sources."""


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices: how many passages, which retrieval, which documents, how to decode."""

    k: int = 5
    mode: str = "hybrid"
    docs: tuple[str, ...] = ()
    generation: GenerationOptions = GenerationOptions()
    check: CheckSettings = CheckSettings()


class AnswerStream:
    """Iterate for the answer's text pieces as they are written; ``result()`` then checks it (once)."""

    def __init__(self, pieces: Iterator[str], finish: Callable[[str], Answer]) -> None:
        self._pieces, self._finish, self._text = pieces, finish, []
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self._text.append(piece)
            yield piece

    def result(self) -> Answer:
        """Consume what is left of the stream, check the whole text, and return the answer."""
        if self._answer is None:
            for _ in self:
                pass
            self._answer = self._finish("".join(self._text))
        return self._answer


@dataclass
class Pipeline:
    """A retriever and a generator over one collection."""

    retriever: Retriever
    generator: Generator
    checker: Checker | None = None

    def stream(self, question: str, options: AskOptions = AskOptions()) -> AnswerStream:
        started = time.perf_counter()
        found = self.retriever.search(question, options.k, mode=options.mode, docs=list(options.docs) or None)
        retrieved = time.perf_counter()
        if not found:
            return AnswerStream(iter([ABSTAIN_TEXT]), lambda text: self._answer(
                question, text, Prompt([], ()), options, (started, retrieved, retrieved)))
        budget = self._prompt_budget(options.generation.max_new_tokens)
        prompt = build_prompt(question, found, budget, self.generator.count_tokens)
        if not prompt.passages:  # an answer from no passage could be neither cited nor checked
            raise QuestionTooLong(f"the question is too long: with it, no passage fits the model's {budget}-token "
                                  "prompt; shorten it")
        pieces = self.generator.stream(prompt.messages, options.generation)
        first_token: list[float] = []

        def timed() -> Iterator[str]:
            for piece in pieces:
                if not first_token:
                    first_token.append(time.perf_counter())
                yield piece

        return AnswerStream(timed(), lambda text: self._answer(
            question, text, prompt, options, (started, retrieved, first_token[0] if first_token else retrieved)))

    def answer(self, question: str, options: AskOptions = AskOptions()) -> Answer:
        return self.stream(question, options).result()

    def _answer(self, question: str, text: str, prompt: Prompt, options: AskOptions,
                moments: tuple[float, float, float]) -> Answer:
        started, retrieved, first_token = moments
        answer = self._parsed(question, text, prompt.passages)
        spent = {"generate": time.perf_counter() - retrieved, "check": 0.0}  # seconds; a retry adds to both
        checked = self._checked(answer, options, spent)
        if options.check.policy == "regenerate" and _unsupported(checked):
            checked = self._retry(checked, prompt, options, spent)
        timings = {"retrieve": retrieved - started, "first_token": first_token - retrieved, **spent,
                   "total": time.perf_counter() - started}
        return replace(checked, timings_ms={key: round(value * 1000, 1) for key, value in timings.items()})

    def _prompt_budget(self, max_new_tokens: int) -> int:
        """Tokens left for the prompt once the answer's are set aside; too few for any prompt is a usage error."""
        window = self.generator.context_window
        if max_new_tokens > window - MIN_PROMPT_TOKENS:
            raise ValueError(f"an answer of up to {max_new_tokens} tokens (--max-new-tokens) leaves no room for a prompt "
                             f"in the model's {window}-token context (RAG_MAX_CONTEXT_TOKENS); use at most "
                             f"{window - MIN_PROMPT_TOKENS}, or a larger context")
        return window - max_new_tokens

    def _checked(self, answer: Answer, options: AskOptions, spent: dict[str, float]) -> Answer:
        started = time.perf_counter()
        checked = check_answer(answer, self.checker, options.check) if self.checker else answer
        spent["check"] += time.perf_counter() - started
        return checked

    def _parsed(self, question: str, text: str, passages: Sequence[Passage]) -> Answer:
        text = text.strip()
        sentences = carry_note_citations([Sentence(s, citations(s, len(passages))) for s in split_sentences(text)])
        abstained = abstains([s.text for s in sentences])
        return Answer(question, text, abstained, sentences, tuple(passages), self.generator.name)

    def _retry(self, first: Answer, prompt: Prompt, options: AskOptions, spent: dict[str, float]) -> Answer:
        """One more answer with the unsupported claims named; keep the better-supported of the two."""
        started = time.perf_counter()
        budget = self._prompt_budget(options.generation.max_new_tokens)
        retry = retry_prompt(first.question, prompt.passages, first.text, _unsupported(first), budget,
                             self.generator.count_tokens)
        if not retry.passages:  # the first answer and the request leave no room for a passage
            return first
        text = "".join(self.generator.stream(retry.messages, options.generation))
        second = self._parsed(first.question, text, retry.passages)
        spent["generate"] += time.perf_counter() - started
        second = self._checked(second, options, spent)
        return second if support_share(second) > support_share(first) else first

    def close(self) -> None:
        self.retriever.close()


def _unsupported(answer: Answer) -> list[str]:
    return [s.text for s in answer.sentences if s.verdict in ("unsupported", "contradicted")]


def support_share(answer: Answer) -> float:
    """Share of an answer's checked claims that are supported (0 for an abstention or no claims)."""
    claims = [s for s in answer.sentences if s.verdict in CLAIM_VERDICTS]
    return 0.0 if answer.abstained or not claims else sum(s.verdict == "supported" for s in claims) / len(claims)


def open_pipeline(settings: Settings, generator: Generator | None = None,
                  log: Callable[[str], None] = lambda message: None, embedder: Embedder | None = None) -> Pipeline:
    """A pipeline over ``settings.collection`` with ``settings.model`` (or the given generator and embedder)."""
    generator = generator or make_generator(settings.model, settings.device, settings.model_cache_dir,
                                            settings.max_context_tokens, log)
    return Pipeline(Retriever.open(settings, embedder), generator,
                    make_checker(settings.checker, generator, settings.device))


def make_checker(spec: str, generator: Generator, device: str = "auto") -> Checker:
    """'judge' (default): the loaded decoder when it is a transformers model, else word overlap;
    'judge+gain': the same, also measuring each claim's weakest gain; 'overlap'; or the path of a local NLI
    sequence-classification model."""
    judges = {"judge": False, "judge+gain": True}
    if spec == "overlap" or (spec in judges and not isinstance(generator, TransformersGenerator)):
        return OverlapChecker()
    if spec in judges:
        return LLMJudge(generator, measure_gain=judges[spec])
    folder = Path(spec).expanduser()
    if not folder.is_dir():  # refused before any answer is generated, not after
        raise ModelUnavailable(f"checker {spec!r} is not judge, judge+gain, overlap or a local NLI model folder")
    return NLIChecker(str(folder), device)


HELD_MODELS = 2  # generators kept in this process; the least recently used beyond them is let go
_PIPELINES: dict[Settings, Pipeline] = {}
_GENERATORS: dict[tuple, Generator] = {}  # least recently used first
_RETRIEVERS: dict[tuple, Retriever] = {}
_EMBEDDERS: dict[tuple, Embedder] = {}
_SHARED = threading.Lock()


def shared_embedder(settings: Settings) -> Embedder:
    """One embedder per model and device in this process, whichever collections use it."""
    key = (settings.embedder, settings.device, settings.embed_batch_size)
    with _SHARED:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = make_embedder(*key)
        return _EMBEDDERS[key]


def shared_generator(settings: Settings) -> Generator:
    """One generator per model and device in this process, whichever collections use it. Only the
    ``HELD_MODELS`` most recently asked for are kept: one switched away from is let go with the pipelines
    on it, so its memory is freed once no answer in progress still uses it (models load lazily, so a
    generator made again costs nothing until it answers)."""
    with _SHARED:
        return _held_generator(settings)


def _held_generator(settings: Settings) -> Generator:
    """shared_generator's work; the caller holds _SHARED."""
    key = (settings.model, settings.device, settings.model_cache_dir, settings.max_context_tokens)
    generator = _GENERATORS.pop(key, None) or make_generator(*key)
    _GENERATORS[key] = generator
    for stale in list(_GENERATORS)[:-HELD_MODELS]:
        _let_go(_GENERATORS.pop(stale))
    return generator


def _let_go(generator: Generator) -> None:
    for settings in [settings for settings, pipeline in _PIPELINES.items() if pipeline.generator is generator]:
        del _PIPELINES[settings]


def answer(question: str, collection: str = "default", *, model: str | None = None, k: int = 5,
           mode: str = "hybrid", docs: Sequence[str] = (), settings: Settings | None = None,
           generation: GenerationOptions = GenerationOptions(), check: CheckSettings = CheckSettings()) -> Answer:
    """Answer one question from a collection; models load once per process and are reused."""
    settings = (settings or load_settings()).with_overrides(collection=collection, model=model)
    return shared_pipeline(settings).answer(question, AskOptions(k, mode, tuple(docs), generation, check))


def shared_pipeline(settings: Settings) -> Pipeline:
    """One pipeline per settings (collection, model, ...) in this process, on the shared generator, and on
    one retriever per collection and embedder whichever model answers (one index in memory, not one per
    model). The collection is opened outside the process-wide lock (it may rebuild an index); the
    generator is taken and the pipeline stored under it, so no model can be let go in between."""
    embedder = shared_embedder(settings)
    key = (settings.collection_dir(), settings.embedder, settings.device, settings.embed_batch_size)
    with _SHARED:  # UI sessions run in threads
        retriever = _RETRIEVERS.get(key)
    opened = retriever or Retriever.open(settings, embedder)
    with _SHARED:
        retriever = _RETRIEVERS.setdefault(key, opened)
        generator = _held_generator(settings)
        pipeline = _PIPELINES.get(settings)
        if pipeline is None or pipeline.generator is not generator:
            checker = make_checker(settings.checker, generator, settings.device)
            pipeline = _PIPELINES[settings] = Pipeline(retriever, generator, checker)
    if opened is not retriever:  # another session opened the collection first: use its retriever
        opened.close()
    return pipeline
