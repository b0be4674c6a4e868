"""Pure prompt builders: numbered passages, instructions to cite and to abstain, a token budget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from rag.types import Passage

ABSTAIN_TEXT = "The documents do not contain the answer."

SYSTEM_PROMPT = (
    "You are a careful analyst. Answer the question from the numbered passages you are given; "
    "the answer may combine facts from several passages. "
    "After every sentence, cite the passages that support it with their numbers in square brackets, "
    "like [1] or [2][3]. Use no outside knowledge. Answer in one or two sentences. "
    f'If the passages say nothing relevant to the question, reply with exactly this sentence: "{ABSTAIN_TEXT}"'
)

PASSAGE_TEMPLATE = "[{n}] ({doc}, page {page})\n{text}"
QUESTION_TEMPLATE = "Passages:\n\n{passages}\n\nQuestion: {question}"


@dataclass(frozen=True)
class Prompt:
    """Chat messages and the passages they show, numbered from 1 in this order."""

    messages: list[dict[str, str]]
    passages: tuple[Passage, ...]


def format_passage(number: int, passage: Passage, text: str | None = None) -> str:
    """One numbered passage with its document and page.

    >>> from rag.types import Chunk
    >>> format_passage(2, Passage(Chunk("i", "/d/report.pdf", 3, 0, 5, "Hello"), 0.5))
    '[2] (report.pdf, page 3)\\nHello'
    """
    return PASSAGE_TEMPLATE.format(n=number, doc=Path(passage.doc).name, page=passage.page,
                                   text=passage.text if text is None else text)


def build_prompt(question: str, passages: Sequence[Passage], budget_tokens: int,
                 count_tokens: Callable[[str], int]) -> Prompt:
    """Messages holding as many passages (best first) as fit ``budget_tokens``; the last may be cut."""
    fixed = count_tokens(SYSTEM_PROMPT) + count_tokens(QUESTION_TEMPLATE.format(passages="", question=question)) + 16
    remaining, shown = budget_tokens - fixed, []
    for passage in passages:
        block = format_passage(len(shown) + 1, passage)
        cost = count_tokens(block) + 2
        if cost > remaining:
            room = remaining - count_tokens(format_passage(len(shown) + 1, passage, "")) - 4  # the join and CUT_MARK
            cut = _cut_to_fit(passage.text, room, count_tokens)
            if cut:  # the checker and the source cards get the text the model was shown
                shown.append((_shortened(passage, cut), format_passage(len(shown) + 1, passage, cut + CUT_MARK)))
            break
        shown.append((passage, block))
        remaining -= cost
    user = QUESTION_TEMPLATE.format(passages="\n\n".join(block for _, block in shown), question=question.strip())
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
    return Prompt(messages, tuple(passage for passage, _ in shown))


CUT_MARK = " ..."  # after a passage cut to fit the prompt


def _shortened(passage: Passage, prefix: str) -> Passage:
    chunk = passage.chunk
    return Passage(replace(chunk, text=prefix, end=chunk.start + len(prefix)), passage.score)


def _cut_to_fit(text: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` (at a word boundary) within ``budget`` tokens; '' if under 32."""
    if budget < 32:
        return ""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low].rsplit(" ", 1)[0]


RETRY_TEMPLATE = (
    "These sentences of your answer are not supported by the passages:\n{claims}\n"
    "Answer the question again, using only what the passages say and citing them after every sentence."
)


def retry_prompt(question: str, passages: Sequence[Passage], previous_answer: str, unsupported: list[str],
                 budget_tokens: int, count_tokens: Callable[[str], int]) -> Prompt:
    """The question asked again: the first prompt with as many passages as still fit ``budget_tokens`` once
    the previous answer and the request to fix its named claims are added, then those two turns.

    >>> from rag.types import Chunk
    >>> words = lambda text: len(text.split())
    >>> passages = [Passage(Chunk(str(n), "d.txt", n, 0, 400, "word " * 100), 1.0) for n in (1, 2, 3)]
    >>> retry = retry_prompt("Q?", passages, "A claim [1].", ["A claim [1]."], 330, words)
    >>> len(retry.passages), sum(words(m["content"]) for m in retry.messages) <= 330
    (2, True)
    """
    request = RETRY_TEMPLATE.format(claims="\n".join(f"- {claim}" for claim in unsupported))
    room = budget_tokens - count_tokens(previous_answer) - count_tokens(request) - 16  # 16: the turns' markup
    first = build_prompt(question, passages, room, count_tokens)
    turns = [{"role": "assistant", "content": previous_answer}, {"role": "user", "content": request}]
    return Prompt([*first.messages, *turns], first.passages)
