"""answer(question) = retrieve -> generate (streamed) -> check each sentence. Composition only."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

from rag.check import CheckSettings, Checker, LLMJudge, OverlapChecker, check_answer
from rag.citations import citations, is_abstention, split_sentences
from rag.config import Settings, load_settings
from rag.generate import TransformersGenerator, make_generator
from rag.prompts import ABSTAIN_TEXT, build_prompt
from rag.protocols import Generator
from rag.retrieve import Retriever
from rag.types import Answer, GenerationOptions, Passage, Sentence


@dataclass(frozen=True)
class AskOptions:
    """Per-question choices: how many passages, which retrieval, which documents, how to decode."""

    k: int = 5
    mode: str = "hybrid"
    docs: tuple[str, ...] = ()
    generation: GenerationOptions = GenerationOptions()
    check: CheckSettings = CheckSettings()


class AnswerStream:
    """Iterate for the answer's text pieces as they are written; then ``.answer`` holds the result."""

    def __init__(self, pieces: Iterator[str], finish: Callable[[str], Answer]) -> None:
        self._pieces, self._finish, self._text = pieces, finish, []
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self._text.append(piece)
            yield piece
        self.answer = self._finish("".join(self._text))

    def result(self) -> Answer:
        """Consume the rest of the stream and return the answer."""
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


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
                question, text, (), options, (started, retrieved, retrieved)))
        budget = self.generator.context_window - options.generation.max_new_tokens
        prompt = build_prompt(question, found, budget, self.generator.count_tokens)
        pieces = self.generator.stream(prompt.messages, options.generation)
        first_token: list[float] = []

        def timed() -> Iterator[str]:
            for piece in pieces:
                if not first_token:
                    first_token.append(time.perf_counter())
                yield piece

        return AnswerStream(timed(), lambda text: self._answer(
            question, text, prompt.passages, options, (started, retrieved, first_token[0] if first_token else retrieved)))

    def answer(self, question: str, options: AskOptions = AskOptions()) -> Answer:
        return self.stream(question, options).result()

    def _answer(self, question: str, text: str, passages: Sequence[Passage], options: AskOptions,
                moments: tuple[float, float, float]) -> Answer:
        started, retrieved, first_token = moments
        text = text.strip()
        sentences = tuple(Sentence(s, citations(s, len(passages))) for s in split_sentences(text))
        abstained = is_abstention(text, any(s.citations for s in sentences))
        answer = Answer(question, text, abstained, sentences, tuple(passages), self.generator.name)
        generated = time.perf_counter()
        if self.checker is not None:
            answer = check_answer(answer, self.checker, options.check)
        finished = time.perf_counter()
        timings = {"retrieve": retrieved - started, "first_token": first_token - retrieved,
                   "generate": generated - retrieved, "check": finished - generated, "total": finished - started}
        return replace(answer, timings_ms={key: round(value * 1000, 1) for key, value in timings.items()})

    def close(self) -> None:
        self.retriever.close()


def open_pipeline(settings: Settings, generator: Generator | None = None,
                  log: Callable[[str], None] = lambda message: None) -> Pipeline:
    """A pipeline over ``settings.collection`` with ``settings.model`` (or the given generator)."""
    generator = generator or make_generator(settings.model, settings.device, settings.model_cache_dir,
                                            settings.max_context_tokens, log)
    return Pipeline(Retriever.open(settings), generator, make_checker(generator))


def make_checker(generator: Generator) -> Checker:
    """The loaded decoder as judge when it is a transformers model; word overlap otherwise."""
    return LLMJudge(generator) if isinstance(generator, TransformersGenerator) else OverlapChecker()


_PIPELINES: dict[Settings, Pipeline] = {}


def answer(question: str, collection: str = "default", *, model: str | None = None, k: int = 5,
           mode: str = "hybrid", docs: Sequence[str] = (), settings: Settings | None = None,
           generation: GenerationOptions = GenerationOptions(), check: CheckSettings = CheckSettings()) -> Answer:
    """Answer one question from a collection; models load once per process and are reused."""
    settings = (settings or load_settings()).with_overrides(collection=collection, model=model)
    if settings not in _PIPELINES:
        _PIPELINES[settings] = open_pipeline(settings)
    return _PIPELINES[settings].answer(question, AskOptions(k, mode, tuple(docs), generation, check))
