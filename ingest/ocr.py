"""OCR for PDF pages without a text layer: PDFium (pypdfium2) renders the page, Tesseract reads it.

Tesseract is a system program (Debian/Ubuntu: ``apt-get install tesseract-ocr``; ``make test`` installs it).
Page segmentation mode 1 lets it detect each page's orientation, so scans turned 90/180/270 degrees read
correctly. Rendering is capped in pixels, so a page declaring a gigantic image (a decompression bomb)
renders at a bounded size instead of exhausting memory. Blank pages are not sent to Tesseract.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable, Protocol

from ingest.loaders import clean_text
from rag.types import Page

MIN_TEXT_CHARS = 20  # a page whose text layer has fewer visible characters than this is read by OCR
MAX_PIXELS = 25_000_000  # per rendered page: 8.5 x 11 in at 300 dpi is 8.4 million
OFF = "off"
OCR_OFF = "OCR is off"
NO_TESSERACT = "OCR needs Tesseract: apt-get install tesseract-ocr"
OCR_STOPPED = "OCR stopped before page"  # a scan indexed in part: --retry-failed reads it again
UNTRIED = ("OCR is not enabled", OCR_OFF, NO_TESSERACT)  # reasons meaning OCR never looked (the first: before OCR)


class OcrError(RuntimeError):
    """A page could not be rendered or read."""


class OcrTimeLimit(OcrError):
    """The file's time for OCR ran out."""


class Ocr(Protocol):
    """Reads the text of a page image."""

    @property
    def name(self) -> str: ...

    def available(self) -> bool:
        """Whether the engine can run on this machine."""
        ...

    def read_image(self, png: bytes, timeout_s: float) -> str: ...


@dataclass(frozen=True)
class TesseractOcr:
    """The ``tesseract`` command; ``languages`` as Tesseract spells them ("eng", "eng+fra")."""

    languages: str = "eng"

    @property
    def name(self) -> str:
        return f"tesseract:{self.languages}"

    def available(self) -> bool:
        return shutil.which("tesseract") is not None

    def missing_languages(self) -> list[str]:
        """Requested languages Tesseract has no data for (an install hint names their packages)."""
        listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
        installed = set(listed.stdout.split())
        return [language for language in self.languages.split("+") if language not in installed]

    def read_image(self, png: bytes, timeout_s: float) -> str:
        command = ["tesseract", "stdin", "stdout", "-l", self.languages, "--psm", "1"]
        environment = os.environ | {"OMP_THREAD_LIMIT": "1"}  # ingest workers already use every core
        try:
            done = subprocess.run(command, input=png, capture_output=True, env=environment, check=False,
                                  timeout=max(1.0, timeout_s))  # the file's time left: no page limit of its own
        except subprocess.TimeoutExpired:
            raise OcrError("tesseract ran out of time") from None
        except OSError as error:
            raise OcrError(f"tesseract: {error}") from None
        if done.returncode != 0:
            raise OcrError(f"tesseract: {done.stderr.decode(errors='replace').strip()[-200:]}")
        return done.stdout.decode(errors="replace")


def ocr_setting(value: str) -> str:
    """The languages to read scans in, or ``OFF``: "Off", "none", "0" and "" all switch OCR off.

    >>> ocr_setting(" eng+fra "), ocr_setting("OFF"), ocr_setting("")
    ('eng+fra', 'off', 'off')
    """
    cleaned = value.strip()
    return OFF if cleaned.lower() in ("", "off", "none", "no", "0", "false") else cleaned


def ocr_engine(setting: str) -> TesseractOcr | None:
    """The engine for an ``--ocr`` setting, None when off; a language without Tesseract data is refused."""
    languages = ocr_setting(setting)
    if languages == OFF:
        return None
    engine = TesseractOcr(languages)
    missing = engine.missing_languages() if engine.available() else []
    if missing:
        packages = " ".join(f"tesseract-ocr-{language}" for language in missing)
        raise ValueError(f"OCR language(s) {', '.join(missing)} not installed: apt-get install {packages}, "
                         "or choose others with --ocr (or --ocr off)")
    return engine


def never_tried(reasons: tuple[str, ...]) -> bool:
    """Whether a document's recorded error or warnings say some pages were left unread without OCR."""
    return any(marker in reason for reason in reasons for marker in UNTRIED)


class PageRenderer:
    """Renders pages of one PDF (opened once) as grayscale PNGs; use as a context manager."""

    def __init__(self, pdf_bytes: bytes, dpi: int = 300, max_pixels: int = MAX_PIXELS) -> None:
        self.pdf_bytes, self.dpi, self.max_pixels = pdf_bytes, dpi, max_pixels
        self._document: Any = None

    def __enter__(self) -> PageRenderer:
        try:
            import pypdfium2
            import PIL  # noqa: F401  (pypdfium2's to_pil needs Pillow)
        except ImportError as error:
            raise OcrError(f"{error.name} is not installed: pip install pypdfium2 pillow") from None
        try:
            self._document = pypdfium2.PdfDocument(self.pdf_bytes)
        except Exception as error:  # PDFium's own message: password, data format, ...
            raise OcrError(f"PDFium cannot open the file: {error}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._document.close()

    def png(self, number: int) -> bytes | None:
        """Page ``number`` (1-based) as PNG, scaled down to ``max_pixels``; None for a blank page."""
        try:
            page = self._document[number - 1]
            width, height = page.get_size()
            scale = min(self.dpi / 72, 0.995 * (self.max_pixels / max(width * height, 1.0)) ** 0.5)  # PDFium rounds up
            image = page.render(scale=scale, grayscale=True).to_pil()
        except Exception as error:  # hostile page content is reported for this page
            raise OcrError(f"could not render page {number}: {error}") from None
        low, high = image.getextrema()
        if low == high:
            return None
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
    problem: str = ""  # why OCR stopped early (a failure, or the time limit); "" if it looked at every page

    @property
    def unread_reason(self) -> str:
        """Why pages OCR was asked to read still have no text."""
        return self.problem or "OCR found no text"


def ocr_pages(pages: tuple[Page, ...], pdf_bytes: bytes, ocr: Ocr, deadline: float) -> OcrOutcome:
    """Pages without a text layer read by OCR until ``deadline`` (time.monotonic()); the first failure
    stops it (a missing language or an unreadable file would fail the same way on every page)."""
    texts: dict[int, str] = {}
    try:
        with PageRenderer(pdf_bytes) as renderer:
            for page in (p for p in pages if needs_ocr(p)):
                if time.monotonic() >= deadline:
                    raise _time_limit(page.number)
                png = renderer.png(page.number)
                texts[page.number] = _read_page(ocr, png, page.number, deadline) if png else ""
    except OcrTimeLimit as error:
        return _outcome(pages, texts, str(error))
    except OcrError as error:
        return _outcome(pages, texts, f"OCR failed: {error}")
    return _outcome(pages, texts, "")


def _read_page(ocr: Ocr, png: bytes, number: int, deadline: float) -> str:
    """The page's text; an engine stopped by the file's time limit (its timeout is the time left) says so
    as a time limit, so that --retry-failed knows to read the scan again."""
    try:
        return clean_text(ocr.read_image(png, deadline - time.monotonic()))
    except OcrError:
        if time.monotonic() >= deadline:
            raise _time_limit(number) from None
        raise


def ocr_stopped_page(notes: Iterable[str]) -> int | None:
    """The page OCR stopped before for lack of time, from a document's warnings; None if it did not.

    >>> ocr_stopped_page(["no text on page(s) 4-9: image-only or scanned (OCR stopped before page 4: ...)"])
    4
    """
    for note in notes:
        if (found := re.search(rf"{OCR_STOPPED} (\d+)", note)) is not None:
            return int(found.group(1))
    return None


def _time_limit(number: int) -> OcrTimeLimit:
    return OcrTimeLimit(f"{OCR_STOPPED} {number}: the file's time limit (raise --file-timeout and run with "
                        "--retry-failed)")


def _outcome(pages: tuple[Page, ...], texts: dict[int, str], problem: str) -> OcrOutcome:
    read = tuple(p.number for p in pages if _better(texts.get(p.number, ""), p.text))
    return OcrOutcome(tuple(replace(p, text=texts[p.number]) if p.number in read else p for p in pages), read, problem)


def _better(ocr_text: str, layer_text: str) -> bool:
    """OCR's text wins if it is more than a few characters (a painting reads as "es pal a") and longer."""
    return _visible_chars(ocr_text) >= MIN_TEXT_CHARS and _visible_chars(ocr_text) > _visible_chars(layer_text)


def unread_reason(ocr: Ocr | None) -> str:
    """Why a page without a text layer has no text when OCR did not run."""
    return OCR_OFF if ocr is None else NO_TESSERACT
