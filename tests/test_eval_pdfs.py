"""Ingest the real and broken PDFs of eval-data/pdf-robustness and hold each to its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.embedders import HashEmbedder


@pytest.mark.slow
def test_pdf_robustness_manifest(settings: Settings, eval_data: Path) -> None:
    folder = eval_data / "pdf-robustness"
    manifest = json.loads((folder / "manifest.json").read_text())
    report = ingest_paths([folder], settings.with_overrides(file_timeout_s=60.0), embedder=HashEmbedder(),
                          options=IngestOptions(progress=False))
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
    assert report.seconds < 600
