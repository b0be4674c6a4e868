"""HTML for a checked answer: sentences marked by verdict (score on hover), citation chips linking to source
cards, and source cards with the supporting span highlighted. Pure functions of an Answer."""

from __future__ import annotations

import html
from pathlib import Path

from rag.citations import strip_citations, unknown_citations
from rag.check import answer_notes
from rag.types import Answer, Passage, Sentence

CSS = """<style>
.rag-s{border-radius:3px;padding:0 2px}
.rag-supported{background:#e6f4ea}
.rag-unsupported,.rag-contradicted{background:#fde8e8;text-decoration:underline wavy #d93025}
.rag-mark{font-size:0.8em;margin-left:2px}
.rag-chip{display:inline-block;font-size:0.75em;padding:0 5px;margin:0 1px;border-radius:8px;
  background:#e8eefc;color:#1a4fd6;text-decoration:none;font-weight:600}
.rag-card{border:1px solid #ddd;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:0.9em}
.rag-card mark{background:#fff3b0}
.rag-card .rag-meta{color:#555;font-size:0.85em}
.rag-chip-bad{background:#fde8e8;color:#d93025}
</style>"""
_MARKS = {"supported": ("✓", "supported"), "unsupported": ("✗", "not supported by the sources"),
          "contradicted": ("✗✗", "contradicted by the sources")}


def answer_html(answer: Answer, turn: int) -> str:
    """The answer's sentences with verdict classes, hover titles, marks and citation chips, then its notes
    (no answer, nothing supported, sentences removed)."""
    body = " ".join(sentence_html(s, turn, len(answer.passages)) for s in answer.sentences) if answer.sentences \
        else html.escape(answer.text)
    notes = "".join(f"<p><em>{html.escape(note)}</em></p>" for note in answer_notes(answer))
    return (f"<p>{body}</p>" if body.strip() else "") + notes


def sentence_html(sentence: Sentence, turn: int, passages: int) -> str:
    """One sentence without its [n] markers, marked by its verdict, then a chip per cited source (and a red
    one per number that names no source: the model cited a passage it was not given)."""
    text = html.escape(strip_citations(sentence.text))
    chips = "".join(f'<a class="rag-chip" href="#src-{turn}-{n}" title="source {n}">[{n}]</a>'
                    for n in sentence.citations)
    chips += "".join(f'<span class="rag-chip rag-chip-bad" title="there is no source {n}">[{n}]?</span>'
                     for n in unknown_citations(sentence.text, passages))
    if sentence.verdict not in _MARKS:
        return f'<span class="rag-s">{text}</span>{chips}'
    mark, meaning = _MARKS[sentence.verdict]
    title = f"{meaning}; score {sentence.score:.2f}"
    if sentence.evidence:
        title += f"; evidence in source [{sentence.evidence.passage}]"
    if sentence.note:
        title += f"; {sentence.note}"
    return (f'<span class="rag-s rag-{sentence.verdict}" title="{html.escape(title)}" data-verdict="{sentence.verdict}">'
            f'{text}<span class="rag-mark">{mark}</span></span>{chips}')


def highlighted(text: str, spans: list[tuple[int, int]]) -> str:
    """The passage text, escaped, with the given character spans in <mark> (overlaps merged).

    >>> highlighted("a <b> c", [(2, 5)])
    'a <mark>&lt;b&gt;</mark> c'
    """
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out += [html.escape(text[position:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        position = end
    return "".join(out) + html.escape(text[position:])


def source_card_html(answer: Answer, number: int, turn: int) -> str:
    """Document name, page, retrieval score and the passage, with the spans that back sentences marked."""
    passage: Passage = answer.passages[number - 1]
    spans = [(s.evidence.start, s.evidence.end) for s in answer.sentences
             if s.evidence and s.evidence.passage == number and s.verdict == "supported"]
    cited = any(number in s.citations for s in answer.sentences)
    return (f'<div class="rag-card" id="src-{turn}-{number}"><b>[{number}] {html.escape(Path(passage.doc).name)}</b>'
            f' <span class="rag-meta">page {passage.page} · score {passage.score:.3f}'
            f'{"" if cited else " · not cited"}</span><br>{highlighted(passage.text, spans)}</div>')


def sources_html(answer: Answer, turn: int) -> str:
    return "".join(source_card_html(answer, n, turn) for n in range(1, len(answer.passages) + 1))
