"""Pure functions for checking: which sentences are claims, what a claim asserts literally, and
where in a passage the evidence for it lies."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from rag.citations import has_citation, says_no_answer, strip_citations
from rag.prompts import ABSTAIN_TEXT
from rag.types import Sentence

_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?\$?\d[\d,]*(?:\.\d+)?%?")
_PERCENT_WORD = re.compile(r"(\d)\s*(?:percent|per cent|pct)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<=[^.!?]\s)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CONNECTIVE = frozenset("""a an and are as at be but by for from here in is it of on or so that the these this
    those to was were with which also however therefore thus in summary overall following below above""".split())
_MONTHS = frozenset("""january february march april may june july august september october november
    december""".split())
_SOURCE_NOTE = frozenset("""information answer fact facts found stated mentioned given shown supported inferred
    confirmed provided described listed explained can has been according see passage passages document
    documents source sources text context page pages paragraph""".split())  # "This information is found in passage [1]."
_ABOUT_SOURCES = re.compile(r"\b(passages?|documents?|sources?|context|texts?)\b|"
                            r"\b(provided|given|available) information\b|\binformation (is |was )?(provided|given|available)\b|"
                            r"\bthere is no (information|mention)\b", re.IGNORECASE)
_CLAUSES = re.compile(r"[,;]|\b(?:but|though|although|whereas|while|however)\b", re.IGNORECASE)
_PREFACE = frozenset("based upon they them their there is no".split())  # "Based on the provided passages, ..."


def is_claim(sentence: str) -> bool:
    """False for connective text ("In summary:", a heading), for a note on where the answer was found
    ("This is stated in passages [1] and [2]."), and for the abstention sentence.

    >>> is_claim("In summary, the following:"), is_claim("The port handled 4.2 million TEU [1].")
    (False, True)
    >>> is_claim("This information is found in [1] on page 1."), is_claim("This is stated in [1] and [2].")
    (False, False)
    """
    text = strip_citations(sentence)
    content = [w for w in _WORD.findall(text.lower()) if w not in _CONNECTIVE]
    about_sources = all(w in _SOURCE_NOTE or w.isdigit() for w in content)
    return len(content) >= 2 and not about_sources and not is_refusal(sentence)


def is_refusal(sentence: str) -> bool:
    """True for an uncited sentence that only says the passages or documents lack something (the instructed
    refusal among them). A negative statement about anything else ("The kit does not include a charger.",
    "The trial provided no information on dosing.") is a claim, and so is a sentence with a clause that
    states something beside the refusal ("It handled 4.2 million TEU, though the passages do not state the
    2026 figure.", "While the passages discuss dosing, ..."): it is checked, and flagged if unsupported.

    >>> is_refusal("The documents do not contain the answer."), is_refusal("The passages, however, do not mention it.")
    (True, True)
    >>> is_refusal("Based on the provided passages, there is no information about the dose.")
    True
    >>> is_refusal("Revenue rose 6% [1], but the documents do not contain the answer for 2026."), is_refusal(
    ...     "The kit does not include a charger."), is_refusal("It opened in 1990, but the text does not state why.")
    (False, False, False)
    """
    core = ABSTAIN_TEXT.lower().rstrip(".")
    if has_citation(sentence) or not (core in sentence.lower() or (
            _ABOUT_SOURCES.search(sentence) and says_no_answer(sentence))):
        return False
    parts = [part for part in _CLAUSES.split(sentence) if len(part.split()) >= 3]
    return all(says_no_answer(part) or core in part.lower() or _only_about_sources(part) for part in parts)


def _only_about_sources(text: str) -> bool:
    """True for a clause with no content beyond words about the sources ("Based on the provided passages")."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _CONNECTIVE]
    return all(w in _SOURCE_NOTE or w in _PREFACE for w in words)


EMPTY_ANSWER_NOTE = "The model gave no answer (it ended at once); this counts as an abstention."


def abstains(sentences: Sequence[str]) -> bool:
    """True for an answer that only refuses (a refusal and no claim) or says nothing at all (the model ended at
    once). One that also makes claims ("Yes, it is safe [1]. The documents do not contain the answer.") is an
    answer, and its claims are checked.

    >>> abstains(["The documents do not contain the answer."]), abstains(["In summary:", "The text has no mention."])
    (True, True)
    >>> abstains([]), abstains(["Yes."])
    (True, False)
    >>> abstains(["The documents do not contain the answer to part one.", "Cranes lift 90 t [1]."])
    False
    """
    return not sentences or (any(is_refusal(s) for s in sentences) and not any(is_claim(s) for s in sentences))


def carry_note_citations(sentences: Sequence[Sentence]) -> tuple[Sentence, ...]:
    """A note such as "This is stated in [1] and [5]." cites for the uncited claims just before it.

    >>> done = carry_note_citations([Sentence("The port has 9 cranes."), Sentence("See passage [2].", (2,))])
    >>> [s.citations for s in done]
    [(2,), (2,)]
    """
    carried = list(sentences)
    for index, note in enumerate(sentences):
        if note.citations and not is_claim(note.text):
            before = index - 1
            while before >= 0 and not carried[before].citations and is_claim(carried[before].text):
                carried[before] = replace(carried[before], citations=note.citations)
                before -= 1
    return tuple(carried)


def literals(claim: str) -> list[str]:
    """Numbers (with %, $ and thousands separators normalised) and multi-word or mid-sentence names.

    >>> literals("In 2025 the port, led by Ilse Brandvik, handled 4.2 million TEU, up 6% to $1,200.")
    ['2025', '4.2', '6%', '1200', 'Ilse Brandvik']
    """
    text = strip_citations(claim)
    numbers = _numbers(text)
    names = [name for name in _NAME.findall(" " + text) if name.lower() not in _CONNECTIVE]
    return [n for n in numbers if n] + names


def missing_literals(claim: str, evidence: str) -> list[str]:
    """The claim's literals that do not occur in the evidence text.

    >>> missing_literals("It is 16.5 metres deep and opened in 2027.", "deepened to 16.5 metres in 2025")
    ['2027']
    >>> missing_literals("Visit  Brindlewood Library today.", "Visit" + chr(10) + "  Brindlewood   Library")
    []
    >>> missing_literals("She died on December 20, 1998.", "died Dec. 20, 1998"), missing_literals("In May it rose.", "in June")
    ([], ['May'])
    """
    evidence_numbers = set(_numbers(evidence))
    lowered = " ".join(evidence.split()).lower()  # line breaks and runs of spaces do not change a name
    evidence_words = set(_WORD.findall(lowered))
    return [item for item in (" ".join(i.split()) for i in literals(claim))
            if (item not in evidence_numbers if _NUMBER.fullmatch(item)
                else not _name_occurs(item.lower(), lowered, evidence_words))]


def _name_occurs(name: str, lowered_evidence: str, evidence_words: set[str]) -> bool:
    """A month also occurs as its abbreviation: "December" is in "Dec. 20, 1998", "September" in "Sept."."""
    if name in lowered_evidence:  # a substring: PDF text often runs words together ("inDecember")
        return True
    return name in _MONTHS and bool({name[:3], "sept" if name == "september" else name} & evidence_words)


def best_span(claim: str, passage: str) -> tuple[int, int]:
    """Character span of the passage sentence sharing most words with the claim.

    >>> text = "Cranes arrived. The channel is 16.5 metres deep. Rail opens later."
    >>> start, end = best_span("How deep is the channel?", text); text[start:end]
    'The channel is 16.5 metres deep.'
    """
    wanted = set(_WORD.findall(strip_citations(claim).lower())) - _CONNECTIVE
    best, best_overlap = (0, len(passage)), -1
    for start, end in sentence_spans(passage):
        overlap = len(wanted & set(_WORD.findall(passage[start:end].lower())))
        if overlap > best_overlap:
            best, best_overlap = (start, end), overlap
    return best


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank sentences (or lines) of a text.

    >>> sentence_spans("A 1.5 m pole. B\\n\\nC!")
    [(0, 13), (14, 15), (17, 19)]
    """
    spans, start = [], 0
    for boundary in _SENTENCE_END.finditer(text):
        spans.append((start, boundary.start()))
        start = boundary.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def word_overlap(claim: str, passage: str) -> float:
    """Share of the claim's content words found in the passage.

    >>> word_overlap("the channel is deep", "a deep channel")
    1.0
    """
    wanted = set(_WORD.findall(strip_citations(claim).lower())) - _CONNECTIVE
    return len(wanted & set(_WORD.findall(passage.lower()))) / len(wanted) if wanted else 0.0


def _numbers(text: str) -> list[str]:
    """The text's numbers, normalised; "12 percent" is "12%".

    >>> _numbers("It fell 5 per cent, to \u22123 and -4.5%, or 12 percent.")
    ['5%', '3', '4.5%', '12%']
    """
    return [_normal_number(n) for n in _NUMBER.findall(_PERCENT_WORD.sub(r"\1%", text))]


def _normal_number(number: str) -> str:
    """Without separators, signs and leading zeros: "June 08" holds the 8 of "June 8". Trade-offs: a code
    such as the ZIP 02139 also matches 2139, and a decimal comma ("0,5") reads as a thousands separator.

    >>> [_normal_number(n) for n in ("$1,200", "08", "0.5", "007%", "0", "-5%", "\u221212")]
    ['1200', '8', '0.5', '7%', '0', '5%', '12']
    """
    plain = re.sub(r"[,$+\-\u2212]", "", number).rstrip(".")
    return re.sub(r"^0+(?=\d)", "", plain)
