from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import LoadError, load
from rag.pdfwrite import write_text_pdf


def test_pdf_pages_keep_their_numbers_and_title(tmp_path: Path) -> None:
    pdf = write_text_pdf(tmp_path / "r.pdf", ["first page about cranes", "", "third page about dredging"], title="Report")
    document = load(pdf, "doc-key")
    assert document.title == "Report"
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert "cranes" in document.pages[0].text and document.pages[1].text == ""
    assert all(page.doc == "doc-key" for page in document.pages)


def _encrypted(tmp_path: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = write_text_pdf(tmp_path / "plain.pdf", ["secret harbour figures"])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    target = tmp_path / f"enc-{bool(user_password)}.pdf"
    with open(target, "wb") as handle:
        writer.write(handle)
    return target


def test_encrypted_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    assert "secret harbour" in load(_encrypted(tmp_path, ""), "d").pages[0].text


def test_password_protected_pdf_fails_with_that_reason(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="password"):
        load(_encrypted(tmp_path, "hunter2"), "d")


@pytest.mark.parametrize("content", [b"", b"%PDF-1.4\n%%EOF", b"not a pdf at all", b"%PDF-1.7\n" + bytes(range(256)) * 40])
def test_broken_pdfs_raise_load_error_not_anything_else(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="PDF"):
        load(path, "d")


def test_truncated_pdf_is_recovered_or_fails_cleanly(tmp_path: Path) -> None:
    pdf = write_text_pdf(tmp_path / "whole.pdf", [f"page {n} text about harbour cranes" for n in range(1, 6)])
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(pdf.read_bytes()[: int(pdf.stat().st_size * 0.6)])
    try:
        document = load(truncated, "d")
    except LoadError as error:
        assert "PDF" in str(error)
    else:
        assert any("harbour" in page.text for page in document.pages)


def test_html_keeps_visible_text_and_title_only(tmp_path: Path) -> None:
    html = tmp_path / "p.html"
    html.write_text("<html><head><title>The Title</title><style>.x{}</style><script>var hidden=1;</script></head>"
                    "<body><h1>Heading</h1><p>Body &amp; text.</p><noscript>enable js</noscript></body></html>")
    document = load(html, "d")
    assert document.title == "The Title"
    text = document.pages[0].text
    assert "Heading" in text and "Body & text." in text
    assert "hidden" not in text and ".x{}" not in text and "enable js" not in text


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    markdown = tmp_path / "n.md"
    markdown.write_text("Intro line\n\n# Real Title\n\nBody")
    document = load(markdown, "d")
    assert document.title == "Real Title" and "Body" in document.pages[0].text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("Café crème at 9:00\r\nnext line".encode(encoding))
    assert load(path, "d").pages[0].text == "Café crème at 9:00\nnext line"


def test_unknown_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.docx"
    path.write_bytes(b"PK")
    with pytest.raises(LoadError, match="unsupported"):
        load(path, "d")


def test_html_is_read_in_its_declared_charset_unless_it_is_valid_utf8() -> None:
    from ingest.loaders import load_html

    page = '<html><head><meta charset="shift_jis"><title>港</title></head><body><p>水深16.5メートル</p></body></html>'
    loaded = load_html(page.encode("shift_jis"), "j.html", "j")
    assert loaded.title == "港" and loaded.pages[0].text == "水深16.5メートル"
    mislabelled = '<meta charset="iso-8859-1"><p>Ørsted café</p>'.encode("utf-8")  # a common mistake
    assert load_html(mislabelled, "m.html", "m").pages[0].text == "Ørsted café"
