"""Conversations: follow-up questions rewritten to stand alone before retrieval, and Markdown export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rag.check import answer_notes
from rag.citations import says_no_answer, unknown_citations
from rag.protocols import Generator
from rag.types import Answer, GenerationOptions, Sentence

REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace "
    "pronouns and references with what they refer to. Reply with the rewritten question only.")
_REFERRING = frozenset("it its they them their this that these those he she his her him there such".split())
LONG_QUESTION_WORDS = 60  # a question this long (a pasted passage, say) carries its own context
_REWRITE_TOKENS = 64


@dataclass(frozen=True)
class Turn:
    question: str  # as the user typed it
    answer: Answer  # answer.question is the stand-alone question that was retrieved for


def needs_context(question: str) -> bool:
    """Whether a question leans on earlier turns (a referring word, or very short), unless it is long.

    >>> needs_context("How deep is it?"), needs_context("How deep is the Valmara main channel?")
    (True, False)
    >>> needs_context("Summarise this: " + "the port grew " * 30)
    False
    """
    words = [w.strip("?.,!;:'\"").lower() for w in question.split()]
    return len(words) <= 3 or (len(words) < LONG_QUESTION_WORDS and any(w in _REFERRING for w in words))


def standalone_question(question: str, history: Sequence[Turn], generator: Generator) -> str:
    """The question rewritten by the model to stand alone; unchanged without history or when it already
    stands alone; if the model's rewrite is unusable, the latest good stand-alone search is prepended
    (so a run of failed rewrites does not pile every earlier question into the search)."""
    if not history or not needs_context(question):
        return question
    recent = "\n".join(f"User: {t.question[:400]}\nAssistant: {t.answer.text[:400]}" for t in history[-3:])
    messages = [{"role": "system", "content": REWRITE_SYSTEM},
                {"role": "user", "content": f"Conversation:\n{recent}\n\nLast question: {question}"}]
    prompt_tokens = sum(generator.count_tokens(message["content"]) for message in messages)
    if prompt_tokens + _REWRITE_TOKENS > generator.context_window:  # a tiny window: no room to rewrite
        return f"{_anchor_question(history)} {question}"
    rewrite = "".join(generator.stream(messages, GenerationOptions(max_new_tokens=_REWRITE_TOKENS))).strip().splitlines()
    candidate = rewrite[0].strip() if rewrite else ""
    refused = says_no_answer(candidate) and not candidate.endswith("?")  # "What is not mentioned in X?" is a question
    if not candidate or refused or len(candidate) > 3 * len(question) + 200:
        return f"{_anchor_question(history)} {question}"
    return candidate


def _anchor_question(history: Sequence[Turn]) -> str:
    """The latest stand-alone search that was not itself a fallback (one typed so, or a good rewrite)."""
    good = [turn.answer.question for turn in history if not _was_fallback(turn)]
    return good[-1] if good else history[0].question


def _was_fallback(turn: Turn) -> bool:
    return turn.answer.question != turn.question and turn.answer.question.endswith(" " + turn.question)


def conversation_markdown(turns: Sequence[Turn]) -> str:
    """The conversation with each answer's checks and the passages it cited, as Markdown; the questions,
    answers and quotes are text (escaped as the chat shows them), not Markdown or HTML of their own."""
    parts = ["# Conversation", ""]
    for number, turn in enumerate(turns, start=1):
        parts += [f"## {number}. {_one_line(turn.question)}", ""]  # a heading is one line
        if turn.answer.question != turn.question:
            parts += [f"*Searched as:* {_one_line(turn.answer.question)}", ""]
        parts += [_marked(turn.answer), "", *_references(turn.answer), ""]
    return "\n".join(parts).rstrip() + "\n"


def _one_line(text: str) -> str:
    return plain_markdown(" ".join(text.split()))


_MARKS = {"supported": "✓", "unsupported": "✗ unsupported", "contradicted": "✗ contradicted"}


def _marked(answer: Answer) -> str:
    """The sentences, each checked one followed by its verdict and any number that names no source, then the
    answer's notes (as in the chat)."""
    body = " ".join(_sentence(s, len(answer.passages)) for s in answer.sentences) if answer.sentences \
        else plain_markdown(answer.text)
    return "\n\n".join([body, *(f"*{note}*" for note in answer_notes(answer))]).strip()


def _sentence(sentence: Sentence, passages: int) -> str:
    unknown = ", ".join(f"[{n}]" for n in unknown_citations(sentence.text, passages))
    return plain_markdown(sentence.text) + (f" *({_MARKS[sentence.verdict]})*" if sentence.verdict in _MARKS else "") \
        + (f" *(no source {unknown})*" if unknown else "")


_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # each may start or end Markdown; a backslash makes it text


def plain_markdown(text: str) -> str:
    """Text shown as typed by st.markdown: every ASCII punctuation character escaped, leading spaces kept as
    no-break spaces (four would start a code block), line breaks kept.

    >>> plain_markdown("# Revenue: $5 vs $10 *net*")
    '\\\\# Revenue\\\\: \\\\$5 vs \\\\$10 \\\\*net\\\\*'
    >>> plain_markdown("    x = 1" + chr(10) + "===")
    '\\xa0\\xa0\\xa0\\xa0x \\\\= 1  \\n\\\\=\\\\=\\\\='
    """
    lines = []
    for line in text.split("\n"):
        body = line.lstrip(" \t")
        lines.append("\u00a0" * (len(line) - len(body)) + _ASCII_PUNCTUATION.sub(r"\\\1", body))
    return "  \n".join(lines)


def _references(answer: Answer) -> list[str]:
    cited = sorted({n for s in answer.sentences for n in s.citations if n <= len(answer.passages)})
    if not cited:
        return []
    lines = ["References:", ""]
    for n in cited:
        passage = answer.passages[n - 1]
        quote = " ".join(passage.text.split())[:300]
        lines.append(f"- \\[{n}\\] {plain_markdown(Path(passage.doc).name)}, page {passage.page}: "
                     f"\"{plain_markdown(quote)}\"")
    return lines
