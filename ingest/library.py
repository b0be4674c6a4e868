"""Managing a collection's documents from a UI: uploads saved safely inside the data dir, listing and
deleting documents.

Uploaded files live in ``DATA_DIR/uploads/<collection>/`` (the collection indexes them from there, so a
re-ingest or an update finds them again); nothing is written outside that folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Sequence

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.collection import Collection, validate_name
from rag.config import Settings
from rag.store import DocumentRecord


class UploadRejected(ValueError):
    """An uploaded file is of a type we cannot read, too large, or has no usable name."""


def safe_file_name(name: str) -> str:
    """The last path component of ``name`` reduced to letters, digits, '.', '-' and '_'. A name that had to
    change gets a short hash of the original, so two uploads whose names clean to the same text ("a (1).pdf",
    "a_1_.pdf") do not replace each other, while re-uploading the same name still replaces (updates) it. The
    suffix is cleaned on its own, so a name in another script keeps its type.

    >>> safe_file_name("../../etc/passwd"), safe_file_name("report_2025.PDF"), safe_file_name("a (1).pdf")
    ('passwd', 'report_2025.PDF', 'a_1_-3bf7ea.pdf')
    >>> len(safe_file_name("x" * 300 + ".pdf")), safe_file_name("x" * 300 + ".pdf").endswith(".pdf")  # suffix kept
    (120, True)
    >>> safe_file_name("报告.pdf"), safe_file_name("Ελληνικά.md")
    ('upload-ab3d01.pdf', 'upload-a38ac2.md')
    """
    base = re.split(r"[\\/]", name)[-1]
    suffix = Path(base).suffix if Path(base).suffix != base else ""
    stem, suffix = _ascii_name(base[:len(base) - len(suffix)]).lstrip("."), _ascii_name(suffix)[:16]
    if not stem.strip("._-"):
        if not suffix.strip("._-"):
            raise UploadRejected(f"{name!r} has no usable file name")
        stem = "upload"
    cleaned = stem + suffix
    if cleaned == base and len(cleaned) <= 120:
        return cleaned
    tag = "-" + hashlib.sha256(base.encode()).hexdigest()[:6]
    return stem[:120 - len(tag) - len(suffix)] + tag + suffix


def _ascii_name(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9._-]", "_", ascii_text))


def uploads_dir(settings: Settings, collection: str | None = None) -> Path:
    return settings.data_dir / "uploads" / validate_name(collection or settings.collection)


def save_upload(settings: Settings, name: str, data: bytes) -> Path:
    """Write an uploaded file into the collection's uploads folder (replacing a same-named one atomically)."""
    safe = safe_file_name(name)
    if Path(safe).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UploadRejected(f"{name}: unsupported file type; use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    if len(data) > settings.max_file_mb * 2**20:
        raise UploadRejected(f"{name}: {len(data) / 2**20:.1f} MB is over the {settings.max_file_mb:g} MB limit")
    folder = uploads_dir(settings)
    target = (folder / safe).resolve()
    if folder.resolve() not in target.parents:
        raise UploadRejected(f"{name}: would be written outside {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".partial")  # one per writer
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(partial, target)
    except BaseException:  # a full disk: no hidden half-written copy is left behind
        Path(partial).unlink(missing_ok=True)
        raise
    return target


def save_uploads(settings: Settings, uploads: Sequence[tuple[str, bytes]]) -> tuple[list[Path], list[str]]:
    """Save a batch of (name, bytes) uploads: the paths saved, and why each other one was refused or could
    not be written (a full or read-only disk). A second file with a name already in the batch is refused:
    browsers send names without their folders, so it would replace the first."""
    saved: list[Path] = []
    errors: list[str] = []
    for name, data in uploads:
        try:
            if any(path.name == safe_file_name(name) for path in saved):
                raise UploadRejected(f"{name}: another file of this upload has the same name; upload it on its own")
            saved.append(save_upload(settings, name, data))
        except UploadRejected as error:
            errors.append(str(error))
        except OSError as error:
            errors.append(f"{name}: could not be saved under {uploads_dir(settings)}: {error.strerror or error}")
    return saved, errors


def documents(settings: Settings, collection: str | None = None) -> list[DocumentRecord]:
    """The collection's documents (indexed and failed), or none if it does not exist yet."""
    directory = settings.collection_dir(collection)
    if not (directory / "store.sqlite3").is_file():
        return []
    with Collection.open_for_read(directory) as opened:
        return opened.store.documents()


def delete_document(settings: Settings, path: str, collection: str | None = None) -> int:
    """Remove a document and its chunks from the collection (and its uploaded copy); returns chunks removed."""
    directory = settings.collection_dir(collection)
    with Collection.open_for_read(directory) as opened:
        recorded = opened.manifest
    with Collection.open_for_write(directory, recorded) as opened:
        if opened.store.document(path) is None:
            raise ValueError(f"{path} is not in collection {directory.name!r}")
        removed = opened.remove_document(path)
        opened.save_index()
    upload = Path(path)
    if uploads_dir(settings, directory.name).resolve() in upload.resolve().parents:
        upload.unlink(missing_ok=True)
    return removed
