"""Pure functions over answer text: sentences, their [n] citations, and sayings that something is not there."""

from __future__ import annotations

import re

_CITED = r"\d{1,3}(?:\s*[-\u2013]\s*\d{1,3})?"  # "2" or a range "1-3" (a bracketed year, "[1998]", is not one)
_CITATION = re.compile(rf"\[({_CITED}(?:\s*[,;]\s*{_CITED})*)\]")
_RANGE_LIMIT = 20  # a "range" longer than this ("[1-999]") counts as its two ends only
_GAP = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'\u201d\u2019)\]])\s+|\n+"  # where a sentence may end;
                  rf"|(?<=[.!?])(?=(?:{_CITATION.pattern})+\s)")  # "fell.[2] Profit": its citations follow
_LAST_WORD = re.compile(r"(\S+)[.!?]$")
_LIST_NUMBER = re.compile(r"\(?\d{1,3}[.)]")  # "1." or "(2)" opening a list item
_ABBREVIATIONS = frozenset("""mr mrs ms dr prof st vs approx fig e.g i.e u.s u.k u.n inc ltd co corp jan feb
    mar apr jun jul aug sep sept oct nov dec""".split())  # a full stop after these rarely ends the sentence
_NUMBER_ABBREVIATIONS = frozenset(("no", "nos"))  # "No. 5": an abbreviation only before a number ("The answer is no.")
_LEADING_CITATIONS = re.compile(rf"^((?:\s*{_CITATION.pattern})+)\s*")
_NO_ANSWER = re.compile(
    r"(do(es)? not (contain|provide|include|mention|specify|state)|no (information|mention)|"
    r"cannot be (answered|determined)|not (mentioned|provided|specified|stated) in)", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences (and list items), with citations that follow a full stop kept on their sentence.

    >>> split_sentences("It is 16.5 metres deep. [2] It opened in 2027 [1].")
    ['It is 16.5 metres deep. [2]', 'It opened in 2027 [1].']
    >>> split_sentences("Revenue rose 6%.[1][3] Profit fell.[2]")
    ['Revenue rose 6%. [1][3]', 'Profit fell.[2]']
    """
    sentences: list[str] = []
    for piece in _pieces(text):
        piece = piece.strip()
        leading = _LEADING_CITATIONS.match(piece)
        if leading and sentences:
            sentences[-1] += " " + leading.group(1).strip()
            piece = piece[leading.end():]
        if piece.strip(" -*•"):
            sentences.append(piece)
    return sentences


def _pieces(text: str) -> list[str]:
    """``text`` cut at line breaks, and after . ! ? where the next word starts a sentence (a capital in any
    script or a digit, perhaps after a quote, bracket or "[") and the word before is not an abbreviation or
    an initial ("U.S.", "J.").

    >>> _pieces("The U.S. Navy bought 3 ships [1]. Ørsted paid e.g. cash. it grew.")
    ['The U.S. Navy bought 3 ships [1].', 'Ørsted paid e.g. cash. it grew.']
    """
    pieces, start = [], 0
    for gap in _GAP.finditer(text):
        if "\n" in gap.group() or _ends_sentence(text[:gap.start()], text[gap.end():]):
            pieces.append(text[start:gap.start()])
            start = gap.end()
    return pieces + [text[start:]]


def _ends_sentence(before: str, after: str) -> bool:
    following = _LEADING_CITATIONS.sub("", after, count=1).lstrip("\"'([\u201c\u2018\u00ab")  # the next word
    if _LIST_NUMBER.fullmatch(before.rsplit("\n", 1)[-1].strip()):  # "1. Sales rose": the item's number
        return False
    if not following or not (following[0].isupper() or following[0].isdigit()):
        return False
    last = _LAST_WORD.search(before)
    word = last.group(1).lower().lstrip("\"'(") if last else ""
    numbered = word in _NUMBER_ABBREVIATIONS and following[0].isdigit()
    return not (numbered or word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def strip_citations(sentence: str) -> str:
    """The sentence without its [n] markers.

    >>> strip_citations("Up 6% [1][2, 3].")
    'Up 6%.'
    """
    return re.sub(r"\s*" + _CITATION.pattern, "", sentence).strip()


def citations(sentence: str, passages: int) -> tuple[int, ...]:
    """Distinct cited passage numbers within 1..passages, in order of appearance.

    >>> citations("Up 6% [1][3, 2] and [9].", passages=3)
    (1, 3, 2)
    """
    return tuple(dict.fromkeys(n for n in _cited_numbers(sentence) if 1 <= n <= passages))


def unknown_citations(sentence: str, passages: int) -> tuple[int, ...]:
    """Cited numbers that name no passage (0, or above ``passages``), in order of appearance.

    >>> unknown_citations("Up 6% [1][0, 2] and [9].", passages=2)
    (0, 9)
    """
    return tuple(dict.fromkeys(n for n in _cited_numbers(sentence) if not 1 <= n <= passages))


def _cited_numbers(sentence: str) -> list[int]:
    """Every number the sentence's [n] markers cite, ranges ("[1-3]", "[2–4]") spelled out, in order.

    >>> _cited_numbers("Up [1-3, 5] and [7–6][2; 9] but not in [1998] or [a].")
    [1, 2, 3, 5, 7, 6, 2, 9]
    """
    numbers: list[int] = []
    for group in _CITATION.findall(sentence):
        for item in re.split(r"\s*[,;]\s*", group):
            ends = [int(n) for n in re.split(r"\s*[-\u2013]\s*", item)]
            first, last = ends[0], ends[-1]
            numbers += list(range(first, last + 1)) if 0 <= last - first <= _RANGE_LIMIT else list(dict.fromkeys(ends))
    return numbers


def says_no_answer(text: str) -> bool:
    """Whether the text says something is not there ("does not mention", "cannot be determined", ...).

    >>> says_no_answer("It cannot be determined from the conversation."), says_no_answer("It is 9 m deep.")
    (True, False)
    """
    return bool(_NO_ANSWER.search(text))


def has_citation(sentence: str) -> bool:
    """Whether the sentence cites a passage with a [n] marker.

    >>> has_citation("Up 6% [1, 2]."), has_citation("Up 6% (see 2)."), has_citation("It is [sic] wrong.")
    (True, False, False)
    """
    return bool(_CITATION.search(sentence))
