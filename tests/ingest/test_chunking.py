from __future__ import annotations

from hypothesis import given, settings as hyp_settings, strategies as st

from ingest.chunking import ChunkSettings, chunk_page, split_spans
from rag.embedders import WordCounter
from rag.types import Page

COUNT = WordCounter()
WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "42", "3.5%", "Net", "sales", ",", "."])
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "  "])
TEXTS = st.lists(st.tuples(WORDS, SEPARATORS), max_size=400).map(lambda pairs: "".join(a + b for a, b in pairs))
SIZES = st.builds(ChunkSettings, tokens=st.integers(8, 80), overlap=st.integers(0, 7))


@given(TEXTS, SIZES)
@hyp_settings(max_examples=200, deadline=None)
def test_every_non_blank_character_is_covered(text: str, sizes: ChunkSettings) -> None:
    covered = [False] * len(text)
    for start, end in split_spans(text, sizes, COUNT):
        covered[start:end] = [True] * (end - start)
    assert all(covered[i] for i, char in enumerate(text) if not char.isspace())


@given(TEXTS, SIZES)
@hyp_settings(max_examples=200, deadline=None)
def test_chunks_respect_the_token_bound_and_page_offsets(text: str, sizes: ChunkSettings) -> None:
    page = Page("doc.txt", 3, text)
    for chunk in chunk_page(page, sizes, COUNT):
        assert COUNT(chunk.text) <= sizes.tokens
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.page == 3 and chunk.doc == "doc.txt"


@given(TEXTS, SIZES)
@hyp_settings(max_examples=100, deadline=None)
def test_chunking_is_deterministic_with_ordered_spans(text: str, sizes: ChunkSettings) -> None:
    first = chunk_page(Page("d", 1, text), sizes, COUNT)
    assert first == chunk_page(Page("d", 1, text), sizes, COUNT)
    starts = [chunk.start for chunk in first]
    assert starts == sorted(set(starts))


def test_a_word_longer_than_the_bound_is_still_split_under_it() -> None:
    text = "x" * 5000
    spans = split_spans(text, ChunkSettings(tokens=8, overlap=0), lambda s: len(s) // 10)
    assert all(len(text[a:b]) // 10 <= 8 for a, b in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_ids_differ_by_place_and_overlap_repeats_context() -> None:
    text = " ".join(f"word{i}" for i in range(300))
    chunks = chunk_page(Page("d", 1, text), ChunkSettings(tokens=50, overlap=10), COUNT)
    assert len({chunk.id for chunk in chunks}) == len(chunks)
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_real_tokenizer_bound() -> None:
    from rag.embedders import make_embedder

    count = make_embedder("packaged").token_counter()
    text = ("The Port of Valmara handled 4.2 million TEU in 2025. " * 60).strip()
    chunks = chunk_page(Page("d", 1, text), ChunkSettings(), count)
    assert len(chunks) > 2
    assert all(count(chunk.text) <= 240 for chunk in chunks)


def test_repetitive_text_found_by_hypothesis() -> None:
    text = "alpha 3.5% 3.5% 3.5% "
    spans = split_spans(text, ChunkSettings(tokens=8, overlap=4), COUNT)
    assert [a for a, _ in spans] == sorted({a for a, _ in spans}) and spans[-1][1] == len(text.rstrip())
