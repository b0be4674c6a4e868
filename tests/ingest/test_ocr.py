"""OCR of PDF pages without a text layer: the logic with a fake engine, then Tesseract on made and real scans."""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from ingest.chunking import ChunkSettings
from ingest.jobs import FileTask, parse_and_chunk
from ingest.ocr import MAX_PIXELS, OcrError, PageRenderer, TesseractOcr, ocr_engine, ocr_pages
from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.embedders import HashEmbedder, word_tokens
from rag.pdfwrite import write_text_pdf
from rag.retrieve import Retriever
from rag.types import FileOutcome, Page

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None and not os.environ.get("CI"),
                                     reason="needs Tesseract (apt-get install tesseract-ocr; make test installs it)")
SENTENCE = "The Valmara harbour master keeps 42 tugboats ready"


@dataclass(frozen=True)
class FakeOcr:
    text: str = "Scanned minutes of the harbour board meeting."
    installed: bool = True
    failure: str = ""
    timeouts_s: list[float] = field(default_factory=list, compare=False)  # the timeout of every read_image call

    @property
    def name(self) -> str:
        return "fake"

    def available(self) -> bool:
        return self.installed

    def read_image(self, png: bytes, timeout_s: float) -> str:
        assert png.startswith(b"\x89PNG") and timeout_s > 0
        self.timeouts_s.append(timeout_s)
        if self.failure:
            raise OcrError(self.failure)
        return self.text


def scanned_pdf(path: Path, lines: list[str], text_page: str | None = None) -> Path:
    """A PDF whose (last) page is an image of ``lines``; with ``text_page``, a text page comes first."""
    from PIL import Image, ImageDraw, ImageFont
    from pypdf import PdfReader, PdfWriter

    image = Image.new("L", (1700, 2200), 255)
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=56)
    for number, line in enumerate(lines):
        draw.text((120, 200 + 110 * number), line, fill=0, font=font)
    image.save(path, format="PDF", resolution=200)
    if text_page is None:
        return path
    writer = PdfWriter()
    for part in (write_text_pdf(path.with_suffix(".text.pdf"), [text_page]), path):
        writer.append(PdfReader(part))
    writer.write(path)
    return path


def _parse(path: Path, ocr: object, budget_s: float = 60.0):
    return parse_and_chunk(FileTask(str(path), "hash", path.stat().st_size, ChunkSettings(64, 8),
                                    lambda text: len(word_tokens(text)), ocr, budget_s))  # type: ignore[arg-type]


def test_pages_without_text_are_read_by_the_ocr_engine(tmp_path: Path) -> None:
    pdf = scanned_pdf(tmp_path / "minutes.pdf", ["(an image)"], text_page="Agenda of the harbour board: tugs and cranes.")
    parsed = _parse(pdf, FakeOcr())
    assert not parsed.failed and parsed.pages == 2
    assert [(c.page, "Scanned minutes" in c.text) for c in parsed.chunks] == [(1, False), (2, True)]
    assert "read by OCR (fake): page(s) 2" in parsed.warnings


def test_a_damaged_scan_is_repaired_then_read_by_ocr(tmp_path: Path) -> None:
    pdf = scanned_pdf(tmp_path / "scan.pdf", ["(an image)"])
    data = pdf.read_bytes()
    pdf.write_bytes(data[: data.rfind(b"trailer")])  # cut off: pypdf cannot open it, qpdf rebuilds it
    parsed = _parse(pdf, FakeOcr())
    assert not parsed.failed and "Scanned minutes" in parsed.chunks[0].text
    assert "damaged PDF repaired with qpdf" in parsed.warnings and "read by OCR (fake): page(s) 1" in parsed.warnings
    assert "image-only or scanned (OCR is off)" in (_parse(pdf, None).error or "")  # a scan, not "unreadable"
    text_pdf = write_text_pdf(tmp_path / "text.pdf", ["The harbour has 42 tugboats."])
    text_pdf.write_bytes(text_pdf.read_bytes()[: text_pdf.read_bytes().rfind(b"trailer")])
    repaired = _parse(text_pdf, None)
    assert "42 tugboats" in repaired.chunks[0].text and "damaged PDF repaired with qpdf" in repaired.warnings


def test_ocr_replaces_a_few_stray_glyphs_but_not_with_less(tmp_path: Path) -> None:
    form = write_text_pdf(tmp_path / "form.pdf", ["7+%-"])  # a font without a Unicode map: garbage
    assert [c.text for c in _parse(form, FakeOcr(text="Phone number of the applicant")).chunks] == \
        ["Phone number of the applicant"]
    assert [c.text for c in _parse(form, FakeOcr(text="es pal es a")).chunks] == ["7+%-"]  # OCR noise loses


def test_unread_scans_are_reported_with_the_reason(tmp_path: Path) -> None:
    pdf = scanned_pdf(tmp_path / "scan.pdf", ["(an image)"])
    assert "(OCR is off)" in (_parse(pdf, None).error or "")
    assert "apt-get install tesseract-ocr" in (_parse(pdf, FakeOcr(installed=False)).error or "")
    assert "(OCR found no text)" in (_parse(pdf, FakeOcr(text="  ")).error or "")
    assert "(OCR failed: no data for language xyz)" in (_parse(pdf, FakeOcr(failure="no data for language xyz")).error or "")
    assert "(OCR stopped before page 1: the file's time limit" in (_parse(pdf, FakeOcr(), budget_s=-1.0).error or "")


def test_one_failure_stops_ocr_and_is_said_once(tmp_path: Path) -> None:
    pages = [Page("d", n, "") for n in (1, 2, 3)]
    pdf = scanned_pdf(tmp_path / "scan.pdf", ["(an image)"])
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for _ in pages:
        writer.append(PdfReader(pdf))
    writer.write(pdf)
    engine = FakeOcr(failure="bad language")
    outcome = ocr_pages(tuple(pages), pdf.read_bytes(), engine, time.monotonic() + 60)
    assert outcome.read == () and outcome.problem == "OCR failed: bad language"
    assert len(engine.timeouts_s) == 1  # pages 2 and 3 are not tried


def test_blank_pages_are_not_sent_to_the_engine(tmp_path: Path) -> None:
    blank = write_text_pdf(tmp_path / "blank.pdf", [""])
    outcome = ocr_pages((Page("d", 1, ""),), blank.read_bytes(), FakeOcr(failure="must not be called"), time.monotonic() + 60)
    assert outcome.problem == "" and outcome.unread_reason == "OCR found no text"


def test_rendering_is_capped_in_pixels(tmp_path: Path) -> None:
    from PIL import Image

    pdf = scanned_pdf(tmp_path / "scan.pdf", ["x"])
    with PageRenderer(pdf.read_bytes(), dpi=2400) as renderer:
        image = Image.open(io.BytesIO(renderer.png(1) or b""))
    assert image.width * image.height <= MAX_PIXELS and image.mode == "L"


@needs_tesseract
def test_tesseract_reads_a_scanned_page_into_the_collection(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "harbour.pdf", [SENTENCE, "and two pilot boats."])
    settings = Settings(data_dir=tmp_path / "data")
    report = ingest_paths([folder], settings, embedder=HashEmbedder(), options=IngestOptions(progress=False))
    outcome = report.files[0]
    assert outcome.status == "added" and outcome.chunks >= 1, outcome
    assert any("read by OCR (tesseract:eng): page(s) 1" in w for w in outcome.warnings)
    retriever = Retriever.open(settings, HashEmbedder())
    assert "tugboats" in retriever.search("How many tugboats does the harbour master keep?", k=1)[0].text
    retriever.close()


@needs_tesseract
def test_a_scan_ingested_without_ocr_is_read_once_ocr_is_on(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "harbour.pdf", [SENTENCE])
    settings = Settings(data_dir=tmp_path / "data", ocr="off")
    first = ingest_paths([folder], settings, embedder=HashEmbedder(), options=IngestOptions(progress=False))
    assert first.files[0].status == "failed" and "(OCR is off)" in (first.files[0].error or "")
    on = settings.with_overrides(ocr="eng")
    second = ingest_paths([folder], on, embedder=HashEmbedder(), options=IngestOptions(progress=False))
    assert second.files[0].status == "added" and second.files[0].chunks >= 1, second.files[0]
    third = ingest_paths([folder], on, embedder=HashEmbedder(), options=IngestOptions(progress=False))
    assert third.files[0].status == "unchanged"


@needs_tesseract
def test_a_language_without_tesseract_data_is_refused() -> None:
    with pytest.raises(ValueError, match="apt-get install tesseract-ocr-xyz"):
        ocr_engine("eng+xyz")
    assert ocr_engine("Off") is None and ocr_engine("eng") == TesseractOcr("eng")


@needs_tesseract
@pytest.mark.slow
def test_real_scans_read_upright_rotated_and_oversized(eval_data: Path) -> None:
    folder = eval_data / "pdf-robustness" / "ocrmypdf"
    engine = TesseractOcr()
    linn = _parse(folder / "linn.pdf", engine, 300.0)
    truth = set(word_tokens((folder / "linn.txt").read_text()))
    found = set(word_tokens(" ".join(c.text for c in linn.chunks)))
    assert len(truth & found) / len(truth) >= 0.85  # word recall against the reference transcription
    rotated = _parse(folder / "cardinal.pdf", engine, 300.0)  # one scan at 0, 90, 180 and 270 degrees
    assert {c.page for c in rotated.chunks if "LinnSequencer" in c.text} == {1, 2, 3, 4}
    bomb = _parse(folder / "hugemono.pdf", engine, 300.0)  # a 35000 x 35000 image, rendered capped
    assert any("very big image" in c.text for c in bomb.chunks)


@dataclass(frozen=True)
class SlowOcr(FakeOcr):
    seconds: float = 1.0

    def read_image(self, png: bytes, timeout_s: float) -> str:
        time.sleep(self.seconds)
        return super().read_image(png, timeout_s)


@dataclass(frozen=True)
class TimedOutOcr(FakeOcr):
    """Tesseract given the time left: it is killed when that runs out and fails as "ran out of time"."""

    def read_image(self, png: bytes, timeout_s: float) -> str:
        time.sleep(timeout_s)
        raise OcrError("tesseract ran out of time")


def test_a_page_cut_by_the_files_time_limit_is_a_time_limit_not_a_failure(tmp_path: Path) -> None:
    pdf = scanned_pdf(tmp_path / "scan.pdf", ["(an image)"])
    outcome = ocr_pages((Page("d", 1, ""),), pdf.read_bytes(), TimedOutOcr(), time.monotonic() + 0.2)
    assert outcome.problem.startswith("OCR stopped before page 1: the file's time limit"), outcome.problem
    slow_page = ocr_pages((Page("d", 1, ""),), pdf.read_bytes(), FakeOcr(failure="tesseract ran out of time"),
                          time.monotonic() + 60)  # an engine failing so with the file's time left
    assert slow_page.problem == "OCR failed: tesseract ran out of time"


def _slow_scan_ingest(tmp_path: Path, pages: int, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FileOutcome]:
    """A folder holding one scan of ``pages`` pages that SlowOcr reads at 1 s a page; ingest(file_timeout_s,
    retry) ingests it and gives the scan's outcome."""
    from pypdf import PdfReader, PdfWriter

    from ingest import pipeline
    from ingest.runners import SerialRunner

    folder = tmp_path / "scans"
    folder.mkdir()
    page = scanned_pdf(tmp_path / "page.pdf", ["(an image)"])
    writer = PdfWriter()
    for _ in range(pages):
        writer.append(PdfReader(page))
    writer.write(folder / "minutes.pdf")
    monkeypatch.setattr(pipeline, "ocr_engine", lambda languages: SlowOcr())
    settings = Settings(data_dir=tmp_path / "data")

    def ingest(file_timeout_s: float, retry: bool = False) -> FileOutcome:
        options = IngestOptions(progress=False, retry_failed=retry)
        return ingest_paths([folder], settings.with_overrides(file_timeout_s=file_timeout_s), embedder=HashEmbedder(),
                            runner=SerialRunner(), options=options).files[0]

    return ingest


def test_a_scan_whose_ocr_ran_out_of_time_is_read_again_with_retry_failed(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ingest = _slow_scan_ingest(tmp_path, 2, monkeypatch)
    first = ingest(1.0)  # OCR gets 0.8 s: page 1 of 2
    assert first.status == "added" and any("OCR stopped before page 2" in w for w in first.warnings), first
    assert ingest(1.0).status == "unchanged"  # nothing changed and no retry asked for
    again = ingest(60.0, retry=True)
    assert again.status == "updated" and not any("OCR stopped" in w for w in again.warnings), again


def test_a_retry_that_reads_fewer_pages_keeps_the_indexed_version(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ingest = _slow_scan_ingest(tmp_path, 3, monkeypatch)
    first = ingest(2.5, retry=True)  # OCR gets 2 s: pages 1 and 2 (page 2 starts after 1 s and a render)
    assert first.status == "added" and any("OCR stopped before page 3" in w for w in first.warnings), first
    hurried = ingest(1.25, retry=True)  # 1 s: page 1 only
    assert hurried.status == "failed" and "previously indexed version is kept" in (hurried.error or ""), hurried
    assert "stopped before page 2 this time, before page 3 in the indexed version" in (hurried.error or "")
    assert ingest(2.5, retry=True).status == "updated"  # as much as before: taken (the retry may read more)
