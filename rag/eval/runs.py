"""An evaluation run's folder: its settings, one results line per item (appended as each finishes, so an
interrupted run resumes where it stopped), the summary and the reports.

    RUN/config.json     what was run (dataset, limit, seed, model, checker): a resume must match it
    RUN/results.jsonl   one JSON object per item, in the order they finished
    RUN/summary.json    the metrics over all results
    RUN/report.md, RUN/report.html
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from rag.locking import try_lock


class RunMismatch(ValueError):
    """The output folder holds a run made with other settings."""


class RunInUse(ValueError):
    """Another evaluation is writing the same run folder."""


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "config.json"

    @property
    def results_file(self) -> Path:
        return self.root / "results.jsonl"

    @property
    def summary_file(self) -> Path:
        return self.root / "summary.json"

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the folder's lock while writing it: a second evaluation into the same folder (another
        terminal, a second UI session with the same dataset and sample) is refused, not interleaved."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = try_lock(self.root / ".lock")
        if handle is None:
            raise RunInUse(f"{self.root} is being written by another evaluation; wait for it to finish "
                           "or pass another --out")
        with handle:
            yield

    def start(self, config: dict[str, Any]) -> list[dict[str, Any]]:
        """Create the folder or reopen it for a resume; returns the results already recorded."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.config_file.is_file():
            stored = json.loads(self.config_file.read_text())
            if stored != config:
                raise RunMismatch(f"{self.root} holds a run with other settings ({_differences(stored, config)}); "
                                  "pass another --out or delete it")
        else:
            _write_atomic(self.config_file, json.dumps(config, indent=2, sort_keys=True) + "\n")
        return self.results()

    def config(self) -> dict[str, Any]:
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.root} has no config.json: is it an evaluation run folder?")
        return json.loads(self.config_file.read_text())

    def results(self) -> list[dict[str, Any]]:
        """The recorded results, one per item id (the latest); a last line without its newline was cut short
        by an interruption (even where it parses) and is ignored and redone, as :meth:`append` drops it.
        Lines split on "\\n" only: answers may hold U+2028 and other line separators."""
        if not self.results_file.is_file():
            return []
        lines = self.results_file.read_text(encoding="utf-8").split("\n")[:-1]  # the last is "" or unfinished
        return list({record.get("id"): record for record in complete_lines(lines)}.values())

    def append(self, record: dict[str, Any]) -> None:
        """Record one finished item durably before the next starts."""
        self._drop_partial_tail()
        with open(self.results_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def rewrite_results(self, records: list[dict[str, Any]]) -> None:
        """Replace the results lines at once (a crash leaves the old file or the new one)."""
        _write_atomic(self.results_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))

    def write_summary(self, summary: dict[str, Any]) -> None:
        _write_atomic(self.summary_file, json.dumps(summary, indent=2, sort_keys=True) + "\n")

    def summary(self) -> dict[str, Any]:
        if not self.summary_file.is_file():
            raise FileNotFoundError(f"{self.root} has no summary.json: is it an evaluation run folder?")
        return json.loads(self.summary_file.read_text())

    def write_text(self, name: str, text: str) -> Path:
        path = self.root / name
        _write_atomic(path, text)
        return path

    def _drop_partial_tail(self) -> None:
        """Cut a last line an interruption left unfinished, in place: recorded lines are never rewritten."""
        if not self.results_file.is_file():
            return
        with open(self.results_file, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(0)
            keep = handle.read().rfind(b"\n") + 1
        os.truncate(self.results_file, keep)


def complete_lines(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """The JSON objects of JSON Lines text; a line cut short by an interruption (or blank) is skipped."""
    for line in lines:
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def _differences(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    keys = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))
    return ", ".join(f"{k}: {stored.get(k)!r} there, {wanted.get(k)!r} now" for k in keys)


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file, flushed to disk before it replaces ``path``: a crash leaves the old
    file or the new one, never a truncated one."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
