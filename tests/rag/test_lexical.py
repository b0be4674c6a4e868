from __future__ import annotations

from hypothesis import given, settings as hyp_settings, strategies as st

from ingest.chunking import ChunkSettings, chunk_page
from rag.embedders import WordCounter
from rag.lexical import DocumentIndex, covered_text
from rag.types import Chunk, Page

WORDS = st.sampled_from(["alpha", "beta", "gamma", "42", "3.5%", "Net", ","])
SEPARATORS = st.sampled_from([" ", " ", "\n", "\n\n", ". ", "  "])
TEXTS = st.lists(st.tuples(WORDS, SEPARATORS), max_size=300).map(lambda pairs: "".join(a + b for a, b in pairs))
SIZES = st.builds(ChunkSettings, tokens=st.integers(8, 60), overlap=st.integers(0, 7))


def _chunk(row: int, doc: str, text: str) -> tuple[int, Chunk]:
    """A chunk that is a whole page of its own (page = row id)."""
    return row, Chunk(str(row), doc, row, 0, len(text), text)


@given(st.lists(TEXTS, min_size=1, max_size=3), SIZES, st.randoms())
@hyp_settings(max_examples=150, deadline=None)
def test_covered_text_holds_every_word_of_the_pages_once(pages: list[str], sizes: ChunkSettings, rng) -> None:
    """Overlapping chunks (in any order) join back into the pages' words, none counted twice."""
    chunks = [chunk for number, text in enumerate(pages, 1)
              for chunk in chunk_page(Page("d.txt", number, text), sizes, WordCounter())]
    rng.shuffle(chunks)
    assert covered_text(chunks).split() == " ".join(pages).split()


def test_the_document_index_ranks_whole_documents_and_knows_each_rows_document() -> None:
    rows = [_chunk(3, "a.txt", "Acme makes anvils."), _chunk(1, "a.txt", "Acme sells anvils."),
            _chunk(2, "b.txt", "Anvils are heavy.")]
    index = DocumentIndex.build(rows)
    assert [index.document_of(row) for row in (1, 2, 3)] == ["a.txt", "b.txt", "a.txt"]
    assert index.search("makes sells", 2) == ["a.txt"]  # both of a.txt's pages are in its text
    assert index.search("acme anvils", 2) == ["a.txt", "b.txt"]
    assert index.search("acme anvils", 2, allowed_rows={2}) == ["b.txt"]  # documents of the allowed rows only
    assert index.document_of(4) is None and index.search("anvils", 2, allowed_rows={2, 4}) == ["b.txt"]
    assert DocumentIndex.build([]).search("acme", 3) == []
