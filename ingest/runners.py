"""Runners map a step over tasks: in this process (serial) or in a pool of worker processes.

The process runner bounds each task's time and memory: a file that hangs a parser or blows up
in memory costs one worker, which is replaced, and the batch goes on.
"""

from __future__ import annotations

import multiprocessing
import resource
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import as_completed
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")
Outcome = tuple[Task, "Result | BaseException"]


class TaskTimeout(Exception):
    """A task ran past its time limit and its worker was stopped."""


class WorkerDied(Exception):
    """A worker process exited in the middle of a task (crash, out of memory)."""


class RunnerUnavailable(ValueError):
    """The runner cannot start: its package is missing or its cluster cannot be reached."""


class Runner(Protocol):
    def map_unordered(
        self, step: Callable[[Task], Result], tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, Result | BaseException]]:
        """Yield (task, result or the exception it raised) as tasks finish, in any order."""
        ...

    def close(self) -> None:
        """Release workers; the runner may not be used afterwards."""
        ...


class SerialRunner:
    """Runs tasks one by one in this process; no time or memory bound (tests, debugging)."""

    def map_unordered(
        self, step: Callable[[Task], Result], tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, Result | BaseException]]:
        for task in tasks:
            try:
                yield task, step(task)
            except Exception as error:
                yield task, error

    def close(self) -> None:
        return None


class LocalRunner:
    """A pool of spawned worker processes with a per-task time limit and a per-worker memory cap."""

    def __init__(self, workers: int = 2, timeout_s: float = 120.0, memory_mb: int = 4096) -> None:
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._pool: Any = None

    def map_unordered(
        self, step: Callable[[Task], Result], tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, Result | BaseException]]:
        pool = self._started_pool()
        futures = {pool.schedule(step, (task,), timeout=self.timeout_s): task for task in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], self._outcome(future)
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def _started_pool(self) -> Any:
        """The worker pool, started on first use and kept for later calls (workers spawn slowly)."""
        if self._pool is None:
            from pebble import ProcessPool

            self._pool = ProcessPool(self.workers, initializer=limit_memory, initargs=(self.memory_mb,),
                                     context=multiprocessing.get_context("spawn"))
        return self._pool

    def _outcome(self, future: object) -> object:
        from pebble import ProcessExpired

        try:
            return future.result()  # type: ignore[attr-defined]
        except FutureTimeout:
            return TaskTimeout(f"took longer than {self.timeout_s:g} s; stopped (raise --file-timeout)")
        except ProcessExpired as error:
            return WorkerDied(f"the parser process died (exit code {error.exitcode}); likely out of memory")
        except Exception as error:
            return error


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space so a decompression bomb raises MemoryError instead of OOM. Only the
    soft limit is set, and never above the hard one (`ulimit -v` lower than the cap): raising it would fail
    in every worker and break the pool."""
    if megabytes > 0:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        limit = megabytes * 1024 * 1024 if hard == resource.RLIM_INFINITY else min(megabytes * 1024 * 1024, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
