"""`rag eval DATASET`: run a suite item by item into a run folder (resumable), then summarise and report.

A suite knows its items, how to run one into a results line, how to summarise the lines and what to plot;
the harness owns the loop, the progress bar, resuming and the files.
"""

from __future__ import annotations

import hashlib
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

from rag.config import Settings
from rag.eval.report import Report, write_report
from rag.eval.runs import RunDir


class Suite(Protocol):
    dataset: str

    def config(self) -> dict[str, Any]:
        """What identifies this run: a resume must match it."""
        ...

    def item_ids(self) -> Sequence[str]: ...

    def run_item(self, item_id: str) -> dict[str, Any]:
        """The results line of one item; must contain "id"."""
        ...

    def complete(self, records: list[dict[str, Any]]) -> bool:
        """Whether ``records`` answer everything the run was made for (`answers_all` for most suites)."""
        ...

    def summarize(self, records: list[dict[str, Any]]) -> dict[str, Any]: ...

    def report(self, records: list[dict[str, Any]], metrics: dict[str, Any]) -> Report: ...


@dataclass(frozen=True)
class EvalOptions:
    dataset: str
    limit: int | None = None
    seed: int = 7
    out: Path | None = None
    k: int = 5  # passages per question (QA datasets)
    retrieval: str = "hybrid"  # retrieval mode (QA datasets): one of rag.retrieve.MODES
    retrieval_only: bool = False  # QA datasets: score retrieval alone, nothing generated (rag/eval/retrieval.py)
    documents: Path | None = None  # a JSONL dataset's documents to index
    collection: str | None = None  # or an existing collection to ask (JSONL datasets)
    progress: bool = True  # tqdm bar on stderr
    on_item: Callable[[int, int], None] | None = None  # (done, total) after each item: for a UI's progress bar


@dataclass(frozen=True)
class EvalResult:
    run: RunDir
    summary: dict[str, Any]
    files: tuple[str, ...]


def default_run_dir(settings: Settings, options: EvalOptions, suite_config: dict[str, Any]) -> Path:
    """Same command, same folder: running it again resumes. Named by the dataset, the model or checker (or
    "retrieval"), the retrieval mode and k when not the defaults, the sample size and the seed."""
    label = "retrieval" if options.retrieval_only else suite_config.get("model") or suite_config.get("checker") or "run"
    if options.retrieval_only or options.retrieval != "hybrid":
        label += f"-{options.retrieval}"
    if options.retrieval_only or options.k != 5:
        label += f"-k{options.k}"
    size = "all" if options.limit is None else str(options.limit)
    return settings.data_dir / "eval" / _slug(f"{options.dataset}-{label}-{size}-s{options.seed}")


def prompts_fingerprint() -> str:
    """Changes whenever the answering or judging prompt does: a run is only resumed with the same prompts."""
    from rag.check import JUDGE_SYSTEM
    from rag.prompts import SYSTEM_PROMPT

    return hashlib.sha256((SYSTEM_PROMPT + "\0" + JUDGE_SYSTEM).encode()).hexdigest()[:12]


ANSWER_CODE = ("prompts", "pipeline", "generate", "citations", "claims", "check", "calibration")  # write, judge answers
RETRIEVAL_CODE = ("retrieve", "fusion", "lexical", "index", "embedders")  # rag modules that find the passages
CODE_BY_MODE = {"qa": ANSWER_CODE + RETRIEVAL_CODE, "fact-check": ANSWER_CODE, "retrieval": RETRIEVAL_CODE}


def code_fingerprint(modules: Sequence[str] = ANSWER_CODE + RETRIEVAL_CODE) -> str:
    """Changes whenever the code of the given rag modules does (by default all that find passages and write
    and judge answers; the calibration's values and the prompts are in the config too): a run is only resumed
    with the same code deciding its results; `rag eval recheck` re-judges old answers. Docstrings and
    comments do not count."""
    import ast
    import importlib

    digest = hashlib.sha256()
    for name in modules:
        tree = ast.parse(Path(importlib.import_module(f"rag.{name}").__file__).read_text())
        digest.update(ast.dump(_without_docstrings(tree)).encode())
    return digest.hexdigest()[:12]


def _without_docstrings(tree: Any) -> Any:
    import ast

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def run_config(suite: Suite, options: EvalOptions) -> dict[str, Any]:
    """What identifies a run: the suite's settings, the sample, and the code (and prompts) its results
    depend on: the answering and retrieval code for QA runs, the judging code for fact-check runs, the
    retrieval code alone for retrieval runs."""
    config = suite.config()
    mode = config.get("mode", "qa")
    identity = {"code": code_fingerprint(CODE_BY_MODE.get(mode, ANSWER_CODE + RETRIEVAL_CODE))}
    if mode != "retrieval":
        identity["prompts"] = prompts_fingerprint()
    return config | {"dataset": options.dataset, "limit": options.limit, "seed": options.seed} | identity


CHECKPOINT_SECONDS = 300.0  # a long run rewrites its summary this often: a hard kill loses at most this much time


@dataclass(frozen=True)
class Session:
    """This session's share of a run's wall time: what earlier sessions took, and when this one started."""

    earlier_seconds: float
    started: float  # time.perf_counter()

    @classmethod
    def begin(cls, run: RunDir) -> Session:
        earlier = run.summary().get("wall_seconds", 0.0) if run.summary_file.is_file() else 0.0
        return cls(earlier, time.perf_counter())

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def run_suite(suite: Suite, settings: Settings, options: EvalOptions) -> EvalResult:
    config = run_config(suite, options)
    run = RunDir(options.out or default_run_dir(settings, options, config))
    with run.exclusive():
        done = {record["id"] for record in run.start(config)}
        pending = [item_id for item_id in suite.item_ids() if item_id not in done]
        session = Session.begin(run)
        try:
            with _terminate_as_interrupt():
                _run_items(suite, run, session, pending, options, len(done))
        except KeyboardInterrupt:  # Ctrl+C or kill: summarise what is done, then stop; the same command resumes
            finish(suite, run, session)
            raise
        return finish(suite, run, session)


def _run_items(suite: Suite, run: RunDir, session: Session, pending: list[str], options: EvalOptions,
               done: int) -> None:
    """Run and record each pending item; rewrite the summary every CHECKPOINT_SECONDS."""
    checkpoint = time.perf_counter()
    for number, item_id in enumerate(_progress(pending, options, done), start=done + 1):
        run.append(suite.run_item(item_id))
        if time.perf_counter() - checkpoint > CHECKPOINT_SECONDS:
            finish(suite, run, session)
            checkpoint = time.perf_counter()
        if options.on_item:
            options.on_item(number, done + len(pending))


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a plain `kill`, a session ending) stops the run like Ctrl+C, so its summary is written.
    Only the main thread can install handlers; elsewhere (a UI's worker thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def finish(suite: Suite, run: RunDir, session: Session) -> EvalResult:
    """Summarise what the run folder holds and write summary.json and the reports."""
    records = run.results()
    metrics = suite.summarize(records)
    seconds = session.seconds()
    summary = {"dataset": suite.dataset, "config": run.config(), "items": len(records),
               "complete": suite.complete(records), "seconds_this_session": round(seconds, 1),
               "wall_seconds": round(session.earlier_seconds + seconds, 1), "metrics": metrics}
    run.write_summary(summary)
    files = write_report(run, suite.report(records, metrics), summary)
    return EvalResult(run, summary, (str(run.results_file), str(run.summary_file), *files))


def answers_all(suite: Suite, records: list[dict[str, Any]]) -> bool:
    """Whether there is a results line for every item of the suite."""
    return {record["id"] for record in records} >= set(suite.item_ids())


def list_runs(settings: Settings) -> list[RunDir]:
    """Finished or interrupted runs under DATA_DIR/eval (those with a summary), newest first."""
    root = settings.data_dir / "eval"
    found = [RunDir(p.parent) for p in root.glob("*/summary.json")] if root.is_dir() else []
    return sorted(found, key=lambda run: run.summary_file.stat().st_mtime, reverse=True)


def _progress(items: list[str], options: EvalOptions, already: int) -> Any:
    if not options.progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"eval {options.dataset}", unit="item", initial=0,
                postfix={"resumed": already} if already else None)


def _slug(text: str) -> str:
    """
    >>> _slug("wice-llm-judge:Qwen2.5 (default)-50-s7")
    'wice-llm-judge-Qwen2.5-default-50-s7'
    """
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", text)).strip("-")


SuiteFactory = Callable[[Settings, EvalOptions], Suite]
