"""Ingest the real and broken PDFs of eval-data/pdf-robustness and hold each to its manifest (scans: by OCR)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.embedders import HashEmbedder


@pytest.mark.slow
def test_pdf_robustness_manifest(settings: Settings, eval_data: Path) -> None:
    folder = eval_data / "pdf-robustness"
    manifest = json.loads((folder / "manifest.json").read_text())
    report = ingest_paths([folder], settings, embedder=HashEmbedder(), options=IngestOptions(progress=False))
    outcomes = {Path(o.path).relative_to(folder).as_posix(): o for o in report.files}
    for entry in manifest:
        outcome, expect = outcomes[entry["file"]], entry["expect"]
        if expect in ("text", "recoverable"):
            assert outcome.status == "added" and outcome.chunks > 0, (entry["file"], outcome)
        elif expect == "password-required":
            assert outcome.status == "failed" and "password" in outcome.error, (entry["file"], outcome)
        elif expect == "must-fail-gracefully":
            assert outcome.status == "failed" and outcome.error, (entry["file"], outcome)
        elif expect == "ocr-needed":
            reported = (outcome.error or "") + " ".join(outcome.warnings)
            assert "OCR" in reported, (entry["file"], outcome)
        else:
            assert outcome.status in ("added", "failed"), (entry["file"], outcome)
    scans = [entry["file"] for entry in manifest if entry["expect"] == "ocr-needed"]
    read = [name for name in scans if outcomes[name].chunks > 0]
    if shutil.which("tesseract") or os.environ.get("CI"):  # CI installs it; lichtenstein.pdf is a painting
        assert len(scans) == 14 and len(read) == 13 and "ocrmypdf/lichtenstein.pdf" not in read, read
    assert report.seconds < 600
