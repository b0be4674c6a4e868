"""RayRunner: the ingest's per-file step on a Ray cluster, or on a local Ray started for the run.

The contract is LocalRunner's: (task, result or the exception it raised) as tasks finish. At most one task
per CPU of the cluster is in flight and a task's time counts from its submission, which is close to its
start once the workers are warm: one past the time limit is cancelled (its worker process killed) and
comes back as TaskTimeout; a worker that dies (a crash, Ray's out-of-memory killer, a lost node) as
WorkerDied. Ray bounds memory per node, not per task, so LocalRunner's per-worker cap does not apply.

Workers read each file by its path and count tokens with the embedder's tokenizer, also by its path: on a
cluster every node must see the documents at the same path (a shared or network filesystem) and have this
project installed at the same path as the machine running the ingest (one image). Embedding and writing
the index stay in the process that owns the collection, as with the local runner.

A process has one Ray connection, shared by its runners (two UI sessions ingesting at once): the first
starts or joins it, the last to close shuts it down if a runner started it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from ingest.runners import Result, RunnerUnavailable, Task, TaskTimeout, WorkerDied

INSTALL_HINT = "the ray runner needs Ray: pip install 'rag-local[ray]' (or pip install ray)"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise RunnerUnavailable(INSTALL_HINT) from error
    return ray


@dataclass
class _ProcessRay:
    """Reference count of the runners using this process's Ray connection."""

    users: int = 0
    started_here: bool = False
    address: str | None = None  # what the runners using it asked for (None: a local Ray)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, ray: Any, address: str | None, cpus: int | None) -> None:
        """Start or join Ray for a runner; one process holds one Ray connection, so a runner that asks for
        another address while runners use this one is refused rather than silently given the wrong Ray."""
        with self.lock:
            if self.users and address != self.address:
                raise RunnerUnavailable(f"this process already uses {_where(self.address)}; it cannot also use "
                                        f"{_where(address)} until the runs on it end")
            if not ray.is_initialized():
                _start_or_join(ray, address, cpus)
                self.started_here = True
            self.users, self.address = self.users + 1, address

    def release(self, ray: Any) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.started_here:
                ray.shutdown()
                self.started_here = False


_PROCESS_RAY = _ProcessRay()


def _start_or_join(ray: Any, address: str | None, cpus: int | None) -> None:
    """Start a new local Ray (``address`` None: never join a cluster found on the machine) or join one."""
    local = {"num_cpus": cpus} if address is None else {}
    try:
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, **local)
    except Exception as error:  # no cluster at the address, a refused connection, a bad address
        where = f"join the Ray cluster at {address}" if address else "start a local Ray"
        raise RunnerUnavailable(f"could not {where}: {type(error).__name__}: {error}"[:400]) from error


def _where(address: str | None) -> str:
    return f"the Ray cluster at {address}" if address else "a local Ray"


@dataclass
class RayRunner:
    address: str | None = None  # None: start a local Ray for this run; "auto" / "ray://HOST:10001": join a cluster
    timeout_s: float = 300.0  # per task, from its submission
    cpus: int | None = None  # a local Ray's CPUs (default: all); ignored when joining a cluster
    _ray: Any = field(default=None, init=False, repr=False)

    def connect(self) -> RayRunner:
        """Start or join Ray now (it is also done on first use): a missing Ray or cluster fails early."""
        if self._ray is None:
            ray = import_ray()
            _PROCESS_RAY.acquire(ray, self.address, self.cpus)
            self._ray = ray
        return self

    def map_unordered(
        self, step: Callable[[Task], Result], tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, Result | BaseException]]:
        ray = self.connect()._ray
        remote, slots = ray.remote(max_retries=0)(step), max(1, int(ray.cluster_resources().get("CPU", 1)))
        waiting: list[Task] = list(reversed(tasks))
        running: dict[Any, tuple[Task, float]] = {}  # object ref -> (task, when it was submitted)
        try:
            while waiting or running:
                while waiting and len(running) < slots:
                    task = waiting.pop()
                    running[remote.remote(task)] = (task, time.monotonic())
                yield from self._finished(running)
        finally:
            for ref in running:  # the caller stopped early: nothing is left running on the cluster
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Let go of the process's Ray; it is shut down when no runner uses it (if a runner started it)."""
        if self._ray is not None:
            _PROCESS_RAY.release(self._ray)
            self._ray = None

    def _finished(self, running: dict[Any, tuple[Task, float]]) -> Iterator[tuple[Task, Any]]:
        """Wait for the next task to finish or the oldest to run out of time; yield what ended."""
        oldest = min(submitted for _, submitted in running.values())
        wait_s = max(0.0, oldest + self.timeout_s - time.monotonic())
        ready, _ = self._ray.wait(list(running), num_returns=1, timeout=wait_s)
        for ref in ready:
            yield running.pop(ref)[0], self._outcome(ref)
        for ref in [ref for ref, (_, submitted) in running.items() if time.monotonic() - submitted > self.timeout_s]:
            done, _ = self._ray.wait([ref], timeout=0)  # finished just as time ran out: keep its result
            if not done:
                self._ray.cancel(ref, force=True)
            yield running.pop(ref)[0], self._outcome(ref) if done else TaskTimeout(
                f"took longer than {self.timeout_s:g} s; stopped (raise --file-timeout)")

    def _outcome(self, ref: Any) -> Any:
        """The task's result, the exception it raised, or WorkerDied when its worker went away."""
        from ray import exceptions

        try:
            return self._ray.get(ref)
        except exceptions.RayTaskError as error:
            return error.cause if isinstance(error.cause, BaseException) else error
        except exceptions.OutOfMemoryError:
            return WorkerDied("Ray's memory monitor stopped the task: its node ran out of memory")
        except exceptions.NodeDiedError:
            return WorkerDied("the node running the task left the Ray cluster")
        except exceptions.WorkerCrashedError:
            return WorkerDied("the Ray worker died (a crash, or the system's out-of-memory killer)")
        except exceptions.RayError as error:
            return error
