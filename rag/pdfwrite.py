"""Write simple text-only PDFs with pypdf (sample documents and test fixtures make their own PDFs)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

_LINE_WIDTH = 90
_LINE_HEIGHT = 14


def write_text_pdf(path: Path, pages: Sequence[str], title: str = "") -> Path:
    """Write one PDF page per string (Helvetica 11 pt, wrapped), so pypdf reads the text back."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        stream = DecodedStreamObject()
        stream.set_data(_content_stream(text))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})})
    if title:
        writer.add_metadata({"/Title": title})
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def _content_stream(text: str) -> bytes:
    lines = [wrapped for paragraph in text.split("\n")
             for wrapped in (textwrap.wrap(paragraph, _LINE_WIDTH) or [""])]
    operations = ["BT", "/F1 11 Tf", f"{_LINE_HEIGHT} TL", "56 740 Td"]
    operations += [f"({_escape(line)}) '" for line in lines]
    operations.append("ET")
    return "\n".join(operations).encode("cp1252", errors="replace")


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
