"""OCR for PDF pages without a text layer: PDFium (pypdfium2) renders the page, Tesseract reads it.

Tesseract is a system program (Debian/Ubuntu: ``apt-get install tesseract-ocr``; ``make test`` installs it).
Page segmentation mode 1 lets it detect each page's orientation, so scans turned 90/180/270 degrees read
correctly. Rendering is capped in pixels, so a page declaring a gigantic image (a decompression bomb)
renders at a bounded size instead of exhausting memory.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Protocol

from ingest.loaders import clean_text
from rag.types import Page

MIN_TEXT_CHARS = 20  # a page whose text layer has fewer visible characters than this is read by OCR
MAX_PIXELS = 25_000_000  # per rendered page: 8.5 x 11 in at 300 dpi is 8.4 million


class OcrError(RuntimeError):
    """A page could not be rendered or read."""


class Ocr(Protocol):
    """Reads the text of a page image."""

    @property
    def name(self) -> str: ...

    def available(self) -> bool:
        """Whether the engine can run on this machine."""
        ...

    def read_image(self, png: bytes) -> str: ...


@dataclass(frozen=True)
class TesseractOcr:
    """The ``tesseract`` command; ``languages`` as Tesseract spells them ("eng", "eng+fra")."""

    languages: str = "eng"
    page_timeout_s: float = 120.0

    @property
    def name(self) -> str:
        return f"tesseract:{self.languages}"

    def available(self) -> bool:
        return shutil.which("tesseract") is not None

    def read_image(self, png: bytes) -> str:
        command = ["tesseract", "stdin", "stdout", "-l", self.languages, "--psm", "1"]
        environment = os.environ | {"OMP_THREAD_LIMIT": "1"}  # ingest workers already use every core
        try:
            done = subprocess.run(command, input=png, capture_output=True, timeout=self.page_timeout_s,
                                  env=environment, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise OcrError(f"tesseract: {error}") from None
        if done.returncode != 0:
            raise OcrError(f"tesseract: {done.stderr.decode(errors='replace').strip()[-200:]}")
        return done.stdout.decode(errors="replace")


def render_page_png(pdf_bytes: bytes, number: int, dpi: int = 300, max_pixels: int = MAX_PIXELS) -> bytes:
    """Page ``number`` (1-based) as a grayscale PNG at ``dpi``, scaled down to at most ``max_pixels``."""
    try:
        import pypdfium2
    except ImportError as error:
        raise OcrError("pypdfium2 is not installed: pip install pypdfium2") from error
    try:
        document = pypdfium2.PdfDocument(pdf_bytes)
        try:
            page = document[number - 1]
            width, height = page.get_size()
            scale = min(dpi / 72, 0.995 * (max_pixels / max(width * height, 1.0)) ** 0.5)  # PDFium rounds up
            image = page.render(scale=scale, grayscale=True).to_pil()
        finally:
            document.close()
    except Exception as error:  # PDFium's errors on hostile files are reported per page
        raise OcrError(f"could not render the page: {error}") from None
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def needs_ocr(page: Page) -> bool:
    return _visible_chars(page.text) < MIN_TEXT_CHARS


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


@dataclass(frozen=True)
class OcrOutcome:
    pages: tuple[Page, ...]  # with the text OCR found on pages that had none
    read: tuple[int, ...]  # numbers of the pages OCR gave text
    problems: tuple[str, ...]  # per-page failures, or where the time budget ran out


def ocr_pages(pages: tuple[Page, ...], pdf_bytes: bytes, ocr: Ocr, budget_s: float) -> OcrOutcome:
    """Pages without a text layer read by OCR, within ``budget_s`` seconds for the whole file; OCR's text
    replaces a page's few stray glyphs (a font without a Unicode map) when it has more to say."""
    deadline, texts, problems = time.monotonic() + budget_s, {}, []
    for page in (p for p in pages if needs_ocr(p)):
        if time.monotonic() > deadline:
            problems.append(f"OCR stopped before page {page.number}: the file's time limit (raise --file-timeout)")
            break
        try:
            texts[page.number] = clean_text(ocr.read_image(render_page_png(pdf_bytes, page.number)))
        except OcrError as error:
            problems.append(f"page {page.number}: OCR failed ({error})")
    read = tuple(p.number for p in pages if _better(texts.get(p.number, ""), p.text))
    updated = tuple(replace(p, text=texts[p.number]) if p.number in read else p for p in pages)
    return OcrOutcome(updated, read, tuple(problems))


def _better(ocr_text: str, layer_text: str) -> bool:
    """OCR's text wins if it is more than a few characters (a painting reads as "es pal a") and longer."""
    return _visible_chars(ocr_text) >= MIN_TEXT_CHARS and _visible_chars(ocr_text) > _visible_chars(layer_text)


def unread_reason(ocr: Ocr | None) -> str:
    """Why a page without a text layer still has no text, for the ingest report."""
    if ocr is None:
        return "OCR is off"
    if not ocr.available():
        return "OCR needs Tesseract: apt-get install tesseract-ocr"
    return "OCR found no text"
