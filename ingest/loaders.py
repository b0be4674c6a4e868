"""file -> list[Page]: the only place that reads documents (pages without a text layer: ingest/ocr.py).

PDF with pypdf page by page (a damaged PDF that pypdf cannot open is repaired with pikepdf/qpdf and
read again), HTML (visible text, title kept), Markdown and plain text. Errors are raised as
:class:`LoadError` with a reason a user can act on.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rag.types import Page

PDF_SUFFIXES = frozenset({".pdf"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
SUPPORTED_SUFFIXES = PDF_SUFFIXES | HTML_SUFFIXES | MARKDOWN_SUFFIXES | TEXT_SUFFIXES
_PDF_ELEMENT_LIMIT = 20_000_000
_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
_BLOCK_TAGS = ("p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
               "tr", "table", "caption", "blockquote", "pre", "section", "article", "header", "footer", "nav",
               "aside", "main", "figure", "figcaption", "form", "fieldset", "address", "details", "summary")


class LoadError(Exception):
    """A file could not be read; ``str(error)`` is the reason shown to the user."""


@dataclass(frozen=True)
class LoadedDocument:
    """The pages of one file (pages without text are kept, with empty text) and its title."""

    title: str
    pages: tuple[Page, ...]
    notes: tuple[str, ...] = ()
    source: bytes | None = None  # a repaired PDF's bytes, which OCR renders (the file's own are damaged)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load(path: Path, doc: str, data: bytes | None = None) -> LoadedDocument:
    """Read a supported file into pages (from ``data``, its bytes already read, when given); ``doc`` is the
    document key the pages carry."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(f"unsupported file type {suffix or '(none)'}")
    return loader(path.read_bytes() if data is None else data, doc, path.stem)


def load_pdf(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    """pypdf, lenient; on a structural failure, repair with qpdf (pikepdf) and try once more."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        return _read_pdf(data, doc, fallback_title)
    except LoadError:
        raise
    except Exception as first:
        reason = f"unreadable PDF: {describe_error(first)}"
    repaired = _repair_pdf(data)
    if repaired is None:
        raise LoadError(reason)
    try:
        document = _read_pdf(repaired, doc, fallback_title)
    except Exception:
        raise LoadError(reason) from None
    # Pages without text may be a scan's: OCR reads them from the repaired file, or the file fails as having none.
    return LoadedDocument(document.title, document.pages, ("damaged PDF repaired with qpdf",), repaired)


def _read_pdf(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    from pypdf import apply_configuration

    # pypdf's default element limits refuse real filings with large tables (e.g. 10-Q PDFs);
    # time and memory per file are bounded by the worker process instead.
    with apply_configuration(array_maximum_element_count=_PDF_ELEMENT_LIMIT,
                             dictionary_maximum_element_count=_PDF_ELEMENT_LIMIT):
        return _read_pdf_pages(data, doc, fallback_title)


def _read_pdf_pages(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise LoadError("password-protected PDF: it needs a user password to open")
    notes: list[str] = []
    pages = tuple(Page(doc, number, _page_text(page, number, notes))
                  for number, page in enumerate(reader.pages, start=1))
    return LoadedDocument(_pdf_title(reader) or fallback_title, pages, tuple(notes))


def _page_text(page: object, number: int, notes: list[str]) -> str:
    try:
        return clean_text(page.extract_text() or "")  # type: ignore[attr-defined]
    except Exception as error:
        notes.append(f"page {number}: text extraction failed ({describe_error(error)})")
        return ""


def _pdf_title(reader: object) -> str:
    try:
        metadata = reader.metadata  # type: ignore[attr-defined]
        return valid_unicode(str(metadata.title)).strip() if metadata and metadata.title else ""
    except Exception:
        return ""


def _repair_pdf(data: bytes) -> bytes | None:
    """Rewrite a damaged PDF with qpdf's recovery (xref reconstruction); None if qpdf gives up."""
    try:
        import pikepdf
    except ImportError:
        return None
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            output = io.BytesIO()
            pdf.save(output)
            return output.getvalue()
    except Exception:
        return None


def load_html(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    """Visible text only: scripts, styles and the head are dropped; the <title> is kept. Text flows as a
    browser lays it out: inline tags (links, bold, spans) join their words, block elements (paragraphs, list
    items, headings, table rows, <br>) break lines, and source line breaks are spaces (but in <pre>).

    >>> load_html(b"<!DOCTYPE html><!-- c --><p>The <a>Valmara</a> port moved 20<b>25</b>\\n  boxes.</p><ul><li>One</li><li>Two</li></ul>",
    ...           "d.html", "d").pages[0].text
    'The Valmara port moved 2025 boxes.\\n\\nOne\\n\\nTwo'
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_html(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    return LoadedDocument(title or fallback_title, (Page(doc, 1, _laid_out_text(soup)),))


def _laid_out_text(soup: Any) -> str:
    from bs4 import NavigableString

    for node in soup.find_all(string=True):
        if type(node) is NavigableString and node.find_parent("pre") is None:  # not a comment or doctype
            node.replace_with(re.sub(r"\s+", " ", str(node)))
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for cell in soup.find_all(("td", "th")):
        cell.insert_after(" ")
    lines = (line.strip() for line in soup.get_text().split("\n"))
    return clean_text("\n".join(lines))


def decode_html(data: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8 (whatever the page declares), else the charset the page declares
    (<meta charset>), else ``decode_text``'s guess."""
    from bs4.dammit import EncodingDetector

    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            declared = EncodingDetector.find_declared_encoding(data, is_html=True)
            try:
                return data.decode(declared) if declared else decode_text(data)
            except (LookupError, UnicodeDecodeError):
                pass
    return decode_text(data)


def load_markdown(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    text = clean_text(decode_text(data))
    return LoadedDocument(markdown_title(text) or fallback_title, (Page(doc, 1, text),))


def markdown_title(text: str) -> str | None:
    """The first level-one heading, outside YAML front matter and fenced code; None if there is none.

    >>> markdown_title("---\\n# a yaml comment\\n---\\n```sh\\n# install\\n```\\n#\\n\\n# Real Title\\ntext")
    'Real Title'
    """
    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    body = re.sub(r"^(```|~~~).*?^\1", "", body, flags=re.DOTALL | re.MULTILINE)
    heading = re.search(r"^#[ \t]+(\S.*)$", body, re.MULTILINE)
    return heading.group(1).strip() if heading else None


def load_text(data: bytes, doc: str, fallback_title: str) -> LoadedDocument:
    return LoadedDocument(fallback_title, (Page(doc, 1, clean_text(decode_text(data))),))


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), then UTF-16 with a BOM, else Windows-1252/Latin-1.

    >>> decode_text("café".encode("cp1252"))
    'café'
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Valid Unicode (see ``valid_unicode``) without NULs and control characters, trailing spaces or runs of
    blank lines.

    >>> clean_text("a \\x00b\\n\\n\\n\\nc  ")
    'a b\\n\\nc'
    """
    text = valid_unicode(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def valid_unicode(text: str) -> str:
    """Lone surrogates (pypdf decodes some fonts' character maps with "surrogatepass") paired into their
    character where two make one, else replaced by U+FFFD: SQLite and the tokenizers refuse them.

    >>> valid_unicode("a\\ud83d\\ude00b\\ud800c") == "a\\U0001f600b\\ufffdc"
    True
    """
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message[:200]}" if message else type(error).__name__


_LOADERS: dict[str, Callable[[bytes, str, str], LoadedDocument]] = {
    **{suffix: load_pdf for suffix in PDF_SUFFIXES},
    **{suffix: load_html for suffix in HTML_SUFFIXES},
    **{suffix: load_markdown for suffix in MARKDOWN_SUFFIXES},
    **{suffix: load_text for suffix in TEXT_SUFFIXES},
}
