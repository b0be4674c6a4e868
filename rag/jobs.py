"""Long work (an ingest, an evaluation) in a background thread that a UI polls.

A Streamlit page runs its script in a thread that any rerun (a widget change, a page switch, a closed tab)
stops at its next call into Streamlit: work run there, reporting progress through it, was cancelled half
way without a word. A job runs to its end whatever the page does; its progress, result or error stay
readable until the page shows them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

Result = TypeVar("Result")
Report = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BackgroundJob(Generic[Result]):
    """One piece of work started with :meth:`start`; read ``running``, ``progress``, ``result``, ``error``."""

    label: str
    progress: tuple[str, int, int] = ("starting", 0, 0)
    result: Result | None = None
    error: Exception | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def start(cls, label: str, work: Callable[[Report], Result]) -> BackgroundJob[Result]:
        """Run ``work(report)`` in a daemon thread; ``report(stage, done, total)`` updates ``progress``."""
        job: BackgroundJob[Result] = cls(label)
        job._thread = threading.Thread(target=job._run, args=(work,), name=f"job: {label}", daemon=True)
        job._thread.start()
        return job

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (or ``timeout_s`` passes); True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def _run(self, work: Callable[[Report], Result]) -> None:
        try:
            self.result = work(self._report)
        except Exception as error:  # kept for the page to show; the thread ends quietly
            self.error = error

    def _report(self, stage: str, done: int, total: int) -> None:
        self.progress = (stage, done, total)
