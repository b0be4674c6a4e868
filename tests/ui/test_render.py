"""The answer's HTML: verdict marks, escaping, and the note on answers the checker turned into abstentions."""

from __future__ import annotations

import re

from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Sentence
from ui.render import answer_html


def _answer(abstained: bool, *sentences: Sentence) -> Answer:
    return Answer("q", " ".join(s.text for s in sentences), abstained, sentences, (), "fake")


def test_a_plain_abstention_is_not_called_unsupported() -> None:
    page = answer_html(_answer(True, Sentence(ABSTAIN_TEXT)), 1)
    assert ABSTAIN_TEXT in page and "No sentence is supported" not in page


def test_an_answer_with_no_supported_claim_says_so_and_text_is_escaped() -> None:
    page = answer_html(_answer(True, Sentence("The <b>port</b> has 9 cranes [1].", (1,), "unsupported", 0.2)), 1)
    assert "No sentence is supported" in page and "&lt;b&gt;port&lt;/b&gt;" in page
    assert 'data-verdict="unsupported"' in page and 'href="#src-1-1"' in page


def test_grouped_citations_become_chips_and_a_number_without_a_source_is_flagged() -> None:
    from rag.types import Chunk, Passage

    passages = tuple(Passage(Chunk(str(n), f"d{n}.txt", 1, 0, 4, "text"), 1.0) for n in (1, 2))
    sentence = Sentence("The port opened in 1874 [1, 2] and grew [3].", (1, 2), "supported", 0.9)
    page = answer_html(Answer("q", sentence.text, False, (sentence,), passages, "fake"), 1)
    assert "[1, 2]" not in page and "The port opened in 1874 and grew." in page
    assert 'href="#src-1-1"' in page and 'href="#src-1-2"' in page and 'title="there is no source 3">[3]?' in page


def test_an_empty_answer_says_the_model_gave_none_instead_of_an_empty_bubble() -> None:
    page = answer_html(_answer(True), 1)
    assert "The model gave no answer" in page and "<p></p>" not in page


def test_sentences_the_strict_policy_removed_are_said_in_the_chat_and_the_export() -> None:
    from rag.check import _apply_policy
    from rag.conversation import Turn, conversation_markdown

    supported = Sentence("The port has 9 cranes [1].", (1,), "supported", 0.9)
    invented = Sentence("It opened in 1066 [1].", (1,), "unsupported", 0.1)
    strict = _apply_policy(_answer(False, supported, invented), "strict")
    assert strict.removed == 1 and "1 unsupported sentence removed." in answer_html(strict, 1)
    assert "*1 unsupported sentence removed.*" in conversation_markdown([Turn("How many cranes?", strict)])


def test_the_export_marks_an_answer_the_checker_rejected_as_the_chat_does() -> None:
    from rag.check import _apply_policy
    from rag.conversation import Turn, conversation_markdown

    rejected = _apply_policy(_answer(False, Sentence("The port has 9 cranes [1].", (1,), "unsupported", 0.2)), "flag")
    assert rejected.abstained
    exported = conversation_markdown([Turn("How many\ncranes?", rejected), Turn("And now?", _answer(True))])
    assert "The port has 9 cranes \\[1\\]\\. *(✗ unsupported)*" in exported and "*No sentence is supported" in exported
    assert "## 1. How many cranes\\?" in exported and "*The model gave no answer" in exported


def test_a_citation_range_becomes_chips_and_a_bracketed_year_stays_text() -> None:
    from rag.citations import citations
    from rag.types import Chunk, Passage

    passages = tuple(Passage(Chunk(str(n), f"d{n}.txt", 1, 0, 4, "text"), 1.0) for n in (1, 2, 3))
    text = "The library, founded [1998], holds 3,400 maps [1-3]."
    sentence = Sentence(text, citations(text, 3), "supported", 0.9)
    page = answer_html(Answer("q", text, False, (sentence,), passages, "fake"), 1)
    assert sentence.citations == (1, 2, 3) and "founded [1998], holds 3,400 maps." in page
    assert all(f'href="#src-1-{n}"' in page for n in (1, 2, 3)) and "rag-chip-bad" not in page


def test_the_export_shows_questions_answers_and_quotes_as_text_like_the_chat() -> None:
    from rag.conversation import Turn, conversation_markdown
    from rag.types import Chunk, Passage

    hostile = "Cranes: 9 <img src=x onerror=alert(1)> *bold*"
    passages = (Passage(Chunk("1", "/d/_port_.txt", 1, 0, len(hostile), hostile), 1.0),)
    sentence = Sentence("The port has 9 cranes [1][7].", (1,), "supported", 0.9)
    exported = conversation_markdown([Turn("Is it $5 vs $10 for __init__?", Answer("q", sentence.text, False,
                                                                                  (sentence,), passages, "m"))])
    assert "## 1. Is it \\$5 vs \\$10 for \\_\\_init\\_\\_?" in exported.replace("\\?", "?")
    assert not re.search(r"(?<!\\)<", exported) and "\\<img src\\=x" in exported and "\\*bold\\*" in exported
    assert "*(✓)* *(no source [7])*" in exported  # the chat's red [7]? chip
    assert "\\_port\\_\\.txt, page 1" in exported
