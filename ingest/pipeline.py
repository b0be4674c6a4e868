"""`ingest_paths`: the batch job that brings a collection in line with folders of documents.

Per file: hash -> (skip if unchanged) -> parse + chunk in a worker -> embed -> one store transaction
-> mirror in the FAISS index. The index is saved every ``save_every_s`` seconds and at the end; a run
killed in between leaves the store consistent, and the next open rebuilds the index from it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ingest.chunking import ChunkSettings
from ingest.jobs import FileTask, failed_task, file_digest, parse_and_chunk, waves
from ingest.loaders import describe_error, is_supported
from ingest.ocr import Ocr, never_tried, ocr_engine, ocr_stopped_page
from ingest.runners import LocalRunner, Runner
from rag.collection import Collection, Manifest, document_path
from rag.config import Settings
from rag.embedders import make_embedder
from rag.protocols import Embedder
from rag.store import DocumentRecord
from rag.types import FileOutcome, IngestReport, ParsedFile


class IngestUsageError(ValueError):
    """The paths given to ingest do not exist."""


@dataclass(frozen=True)
class IngestOptions:
    prune: bool = False
    retry_failed: bool = False
    force: bool = False  # parse every file again, changed or not (after a parser upgrade, say)
    progress: bool = True  # tqdm bars on stderr
    save_every_s: float = 60.0
    on_progress: Callable[[str, int, int], None] | None = None  # (stage, done, total): for a UI's progress bar


@dataclass(frozen=True)
class Discovered:
    files: list[Path]  # supported files, each once
    skipped: dict[Path, str]  # path -> why it is not ingested
    second_names: frozenset[Path] = frozenset()  # names of files taken under another name


def discover(roots: Sequence[Path], known: Container[str] = ()) -> Discovered:
    """The supported files under the given files and folders (hidden entries ignored), and what is skipped.

    A file reached under two names (a link to a file also found, a hard link) is taken once: under a name
    in ``known`` (the collection's documents) if it has one, else its first name in sorted order. A linked
    folder is not followed (no loops), but reported. An entry whose type cannot be read (a link into a
    folder without permission) is taken, so reading it reports why it fails.
    """
    found, skipped = _walk(roots)
    supported: list[Path] = []
    first_names: dict[tuple[int, int] | Path, Path] = {}
    for path in sorted(found, key=lambda path: (str(path) not in known, path)):
        if not is_supported(path):
            skipped[path] = f"unsupported file type '{path.suffix}'"
        elif (first := first_names.setdefault(_file_identity(path), path)) != path:
            skipped[path] = f"the same file as {_shown_name(first)}"
        else:
            supported.append(path)
    second_names = frozenset(path for path in found if is_supported(path) and path not in supported)
    return Discovered(sorted(supported), skipped, second_names)


def _walk(roots: Sequence[Path]) -> tuple[set[Path], dict[Path, str]]:
    """The files (not hidden) under the roots, and the linked folders skipped there."""
    found: set[Path] = set()
    skipped: dict[Path, str] = {}
    for root in roots:
        for path in [root] if _kind(root) == "file" else root.rglob("*"):
            kind = "hidden" if _hidden(path, root) else _kind(path)
            if kind == "file":
                found.add(path)
            elif kind == "linked folder" and path.resolve() not in roots:  # (a named root is resolved)
                skipped[path] = "a linked folder is not followed; name its target folder to ingest it"
    return found, skipped


def _kind(path: Path) -> str:
    """"file", "linked folder" or "other"; "file" where the type cannot be read."""
    try:
        if path.is_symlink() and path.is_dir():
            return "linked folder"
        return "file" if path.is_file() else "other"
    except OSError:
        return "file"


def _file_identity(path: Path) -> tuple[int, int] | Path:
    """(device, inode) of the file a name leads to; the name itself where it cannot be read."""
    try:
        status = path.stat()
    except OSError:
        return path
    return status.st_dev, status.st_ino


def ingest_paths(
    paths: Sequence[Path], settings: Settings, *, embedder: Embedder | None = None,
    runner: Runner | None = None, options: IngestOptions = IngestOptions(),
) -> IngestReport:
    """Ingest files and folders into ``settings.collection``; see the module docstring."""
    roots = [document_path(Path(path)) for path in paths]  # re-ingesting a link's name reads that name
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        raise IngestUsageError(f"no such file or folder: {', '.join(missing)}")
    embedder = embedder or make_embedder(settings.embedder, settings.device, settings.embed_batch_size)
    ocr = ocr_engine(settings.ocr)
    runner = runner or make_runner(settings)
    wanted = Manifest(embedder.name, embedder.dim, settings.chunk_tokens, settings.chunk_overlap,
                      embedder_files=embedder.fingerprint)
    try:
        with Collection.open_for_write(settings.collection_dir(), wanted) as collection:
            return _IngestRun(collection, embedder, runner, settings, options, ocr).run(roots)
    finally:
        runner.close()


def make_runner(settings: Settings) -> Runner:
    """The runner ``settings.runner`` names: a local process pool, or Ray (local or a cluster), connected
    before any file is read so a missing Ray or an unreachable cluster fails at once."""
    if settings.runner == "local":  # Settings admits only RUNNERS
        return LocalRunner(settings.workers, settings.file_timeout_s, settings.worker_memory_mb)
    from ingest.ray_runner import RayRunner

    return RayRunner(settings.ray_address, settings.file_timeout_s, settings.workers).connect()


@dataclass
class _IngestRun:
    collection: Collection
    embedder: Embedder
    runner: Runner
    settings: Settings
    options: IngestOptions
    ocr: Ocr | None
    outcomes: list[FileOutcome] = field(default_factory=list)
    timings: Counter = field(default_factory=Counter)
    chunks_removed: int = 0
    _last_save: float = field(default_factory=time.monotonic)

    def run(self, roots: list[Path]) -> IngestReport:
        started = time.perf_counter()
        discovered = discover(roots, known={record.path for record in self.collection.store.documents()})
        self.outcomes += [FileOutcome(_shown_name(path), "skipped", error=why) for path, why in discovered.skipped.items()]
        for wave in waves(self._plan(discovered.files)):
            parsed_files = list(self._parse(wave))
            self._embed_and_commit(parsed_files)
        if self.options.prune:
            self._prune(roots, second_names=discovered.second_names)
        self._save_index()
        self.timings["total"] = time.perf_counter() - started
        return self._report()

    def _plan(self, files: Iterable[Path]) -> list[FileTask]:
        """Hash every file; note unreadable, oversized and unchanged ones; the rest become tasks."""
        started, tasks = time.perf_counter(), []
        chunking = ChunkSettings(self.settings.chunk_tokens, self.settings.chunk_overlap)
        count_tokens = self.embedder.token_counter()
        for path in files:
            identity = self._identity(path)
            if identity is not None and not self._settled(str(path), identity[0]):
                tasks.append(FileTask(str(path), *identity, chunking, count_tokens, self.ocr,
                                      ocr_budget_s=0.8 * self.settings.file_timeout_s, max_bytes=self._max_bytes))
        self.timings["hash"] += time.perf_counter() - started
        return tasks

    def _identity(self, path: Path) -> tuple[str, int] | None:
        """(content hash, size) of a file; None, with a failed outcome, for one too big or unreadable.

        The size is checked first, so an oversized file is never read."""
        if not _utf8_name(path):  # the store (SQLite) holds names as UTF-8: this one cannot be recorded
            self.outcomes.append(FileOutcome(_shown_name(path), "failed",
                                             error="the file name is not valid UTF-8; rename it to ingest it"))
            return None
        try:
            size = path.stat().st_size
            if size > self._max_bytes:
                return self._refuse(str(path), f"file is {size / 2**20:.0f} MB, over the "
                                                f"{self.settings.max_file_mb:g} MB limit (--max-file-mb)")
            return file_digest(path), size
        except OSError as error:  # permission denied, or removed since it was found
            return self._refuse(str(path), f"cannot read the file: {error.strerror or error}")

    @property
    def _max_bytes(self) -> int:
        return int(self.settings.max_file_mb * 1024 * 1024)

    def _refuse(self, path: str, error: str) -> None:
        """A failed outcome for a file that is not parsed; an indexed earlier version stays, and says so."""
        known = self.collection.store.document(path)
        if known is not None and known.status == "indexed":
            error += KEPT
        self.outcomes.append(FileOutcome(path, "failed", error=error))

    def _settled(self, path: str, digest: str) -> bool:
        """Record an outcome without parsing when the file is unchanged or failed before (as a new file or
        as a newer version of an indexed one)."""
        known = self.collection.store.document(path)
        if known is None or self.options.force or self._ocr_reads_it_now(known):
            return False
        if known.status == "indexed" and known.content_hash == digest:
            if self.options.retry_failed and ocr_stopped_page(known.warnings) is not None:
                return False
            if known.error:  # a failed update's file is back to the indexed version
                self.collection.store.clear_error(path)
            self.outcomes.append(FileOutcome(path, "unchanged", known.chunks, warnings=known.warnings))
            return True
        if self.options.retry_failed or digest != _failed_hash(known):
            return False
        self.outcomes.append(FileOutcome(path, "failed", error=f"{_failure(known)} (unchanged; --retry-failed)"))
        return True

    def _ocr_reads_it_now(self, known: DocumentRecord) -> bool:
        """A scan ingested while OCR was off or not installed is parsed again once OCR can run."""
        return self.ocr is not None and self.ocr.available() and never_tried((known.error or "", *known.warnings))

    def _parse(self, tasks: list[FileTask]) -> Iterable[ParsedFile]:
        with self._bar(len(tasks), "parse", "file") as bar:
            for done, (task, result) in enumerate(self.runner.map_unordered(parse_and_chunk, tasks), start=1):
                bar.set_postfix_str(Path(task.path).name[-40:], refresh=False)
                self._advance(bar, "parse", 1, done)
                yield result if isinstance(result, ParsedFile) else failed_task(task, _reason(result))

    def _embed_and_commit(self, parsed_files: list[ParsedFile]) -> None:
        with self._bar(sum(len(parsed.chunks) for parsed in parsed_files), "embed", "chunk") as bar:
            done = 0
            for parsed in parsed_files:
                self._commit(parsed)
                done += len(parsed.chunks)
                self._advance(bar, "embed", len(parsed.chunks), done)

    def _bar(self, total: int, label: str, unit: str) -> Any:
        from tqdm import tqdm

        return tqdm(total=total, desc=label, unit=unit, dynamic_ncols=True,
                    disable=(not self.options.progress) or None)

    def _advance(self, bar: Any, stage: str, steps: int, done: int) -> None:
        bar.update(steps)
        if self.options.on_progress:
            self.options.on_progress(stage, done, bar.total)

    def _commit(self, parsed: ParsedFile) -> None:
        self.timings["parse"] += parsed.parse_seconds
        self.timings["chunk"] += parsed.chunk_seconds
        known = self.collection.store.document(parsed.path)
        failure = parsed if parsed.failed else _read_less(parsed, known) or self._try_commit_chunks(parsed, known)
        if failure is not None:
            self._commit_failure(failure, known)
        if time.monotonic() - self._last_save > self.options.save_every_s:
            self._save_index()

    def _try_commit_chunks(self, parsed: ParsedFile, known: DocumentRecord | None) -> ParsedFile | None:
        """Embed and store the chunks; the file as failed where the embedder or the store refused its text
        (a ValueError: the tokenizer, an encoding), None once committed. Other errors (CUDA out of memory,
        the index) are not this file's and stop the run."""
        try:
            self._commit_chunks(parsed, known)
            return None
        except ValueError as error:  # UnicodeError is a ValueError
            reason = f"could not embed or store its text: {describe_error(error)}"
            return replace(parsed, chunks=(), error=reason[:300])

    def _commit_chunks(self, parsed: ParsedFile, known: DocumentRecord | None) -> None:
        started = time.perf_counter()
        vectors = self.embedder.embed([chunk.text for chunk in parsed.chunks])
        embedded = time.perf_counter()
        record = DocumentRecord(parsed.path, parsed.content_hash, "indexed", parsed.title, parsed.pages,
                                len(parsed.chunks), None, parsed.warnings, time.time())
        self.chunks_removed += self.collection.replace_document(record, parsed.chunks, vectors)
        self.timings["embed"] += embedded - started
        self.timings["write"] += time.perf_counter() - embedded
        status = "updated" if known is not None and known.status == "indexed" else "added"
        self.outcomes.append(FileOutcome(parsed.path, status, len(parsed.chunks), warnings=parsed.warnings))

    def _commit_failure(self, parsed: ParsedFile, known: DocumentRecord | None) -> None:
        error = parsed.error or "unknown error"
        if known is not None and known.status == "indexed":
            self.collection.store.note_failed_update(parsed.path, error, parsed.content_hash)
            error += KEPT
        else:
            record = DocumentRecord(parsed.path, parsed.content_hash, "failed", parsed.title, parsed.pages,
                                    0, error, parsed.warnings, time.time())
            self.chunks_removed += self.collection.replace_document(record, (), np.zeros((0, 1)))
        self.outcomes.append(FileOutcome(parsed.path, "failed", error=error, warnings=parsed.warnings))

    def _prune(self, roots: list[Path], second_names: frozenset[Path]) -> None:
        """Remove the documents under the roots whose files are gone, or that are now a second name of a file
        kept under another. Not those this run could not see: a hidden file named on an earlier run, a
        folder it could not read, and a folder that exists but holds nothing now (an unmounted share, a
        disconnected drive), which the report names."""
        kept: Counter[Path] = Counter()
        for record in self.collection.store.documents():
            path = Path(record.path)
            if not _under_any(path, roots) or not (path in second_names or _is_gone(record.path)):
                continue
            if (emptied := _emptied_folder(path)) is not None and path not in second_names:
                kept[emptied] += 1
            else:
                removed = self.collection.remove_document(record.path)
                self.chunks_removed += removed
                self.outcomes = [o for o in self.outcomes if o.path != record.path]  # gone since it was found
                self.outcomes.append(FileOutcome(record.path, "removed", removed))
        self.outcomes += [_kept_in_empty_folder(folder, count) for folder, count in kept.items()]

    def _save_index(self) -> None:
        started = time.perf_counter()
        self.collection.save_index()
        self._last_save = time.monotonic()
        self.timings["write"] += time.perf_counter() - started

    def _report(self) -> IngestReport:
        added = sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))
        return IngestReport(self.collection.name, tuple(sorted(self.outcomes, key=lambda o: o.path)),
                            added, self.chunks_removed, round(self.timings["total"], 3),
                            {key: round(value, 3) for key, value in self.timings.items()})


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


KEPT = "; the previously indexed version is kept"  # said of a failed update


def _failed_hash(known: DocumentRecord) -> str | None:
    """The content hash of the version that failed: a failed document's own, an indexed one's newer."""
    return known.failed_hash if known.status == "indexed" else known.content_hash


def _failure(known: DocumentRecord) -> str:
    return f"{known.error}{KEPT}" if known.status == "indexed" else str(known.error)


def _read_less(parsed: ParsedFile, known: DocumentRecord | None) -> ParsedFile | None:
    """A retried scan whose OCR stopped earlier than in its indexed version (a busier machine, the same
    time limit): failed, so that the pages read before are kept."""
    if known is None or known.status != "indexed" or parsed.content_hash != known.content_hash:
        return None
    before, now = ocr_stopped_page(known.warnings), ocr_stopped_page(parsed.warnings)
    if before is None or now is None or now >= before:
        return None
    return replace(parsed, chunks=(), error=f"OCR stopped before page {now} this time, before page {before} "
                                            "in the indexed version (raise --file-timeout)")


def _hidden(path: Path, root: Path) -> bool:
    """A dot-file or a file in a dot-folder below the root; a file named as the root itself is never hidden."""
    return path != root and any(part.startswith(".") for part in path.relative_to(root).parts)


def _kept_in_empty_folder(folder: Path, documents: int) -> FileOutcome:
    return FileOutcome(str(folder), "skipped", error=(
        f"--prune: the folder holds no files now (not mounted?), so its {documents} indexed documents were kept; "
        "to drop them, remove them on the UI's Library page, or delete the empty folder and prune again"))


def _emptied_folder(path: Path) -> Path | None:
    """The nearest existing folder above a file that is gone, where that folder is empty (an unmounted mount
    point looks so); None where it holds something or cannot be read.

    >>> import tempfile; root = Path(tempfile.mkdtemp()); (root / "mnt").mkdir(); _ = (root / "b.txt").write_text("b")
    >>> _emptied_folder(root / "mnt" / "share" / "a.txt") == root / "mnt", _emptied_folder(root / "gone" / "a.txt")
    (True, None)
    """
    for folder in path.parents:
        try:
            if folder.exists():
                return folder if folder.is_dir() and next(folder.iterdir(), None) is None else None
        except OSError:
            return None
    return None


def _under_any(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _is_gone(path: str) -> bool:
    """Whether a file no longer exists; one that cannot be looked at (in a folder without permission) is not
    gone: only a missing file or folder removes a document."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _utf8_name(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as lone surrogates
        return False
    return True


def _shown_name(path: Path) -> str:
    """A name with bytes that are not UTF-8, printable: each such byte is shown as U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
