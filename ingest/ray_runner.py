"""RayRunner: the ingest's per-file step on a Ray cluster, or on a local Ray started for the run.

The contract is LocalRunner's: (task, result or the exception it raised) as tasks finish. At most one task
per CPU of the cluster is in flight, so a task's time is counted from when it starts: one past the time
limit is cancelled (its worker process killed) and comes back as TaskTimeout; a worker that dies (a crash,
Ray's out-of-memory killer, a lost node) as WorkerDied. Ray bounds memory per node, not per task, so the
per-worker address-space cap of LocalRunner does not apply here.

Workers read each file by its path: on a cluster every node must see the documents at the same path (a
shared or network filesystem) and have this project installed. Embedding and writing the index stay in
the process that owns the collection (the driver), as with the local runner.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from ingest.runners import Result, Task, TaskTimeout, WorkerDied

INSTALL_HINT = "the ray runner needs Ray: pip install 'rag-local[ray]' (or pip install ray)"


@dataclass
class RayRunner:
    address: str | None = None  # None: start a local Ray for this run; "auto" / "ray://HOST:10001": join a cluster
    timeout_s: float = 300.0  # per task, from its start
    cpus: int | None = None  # a local Ray's CPUs (default: all); ignored when joining a cluster
    _ray: Any = field(default=None, init=False, repr=False)
    _started_here: bool = field(default=False, init=False, repr=False)

    def map_unordered(
        self, step: Callable[[Task], Result], tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, Result | BaseException]]:
        ray = self._connected()
        remote, slots = ray.remote(max_retries=0)(step), max(1, int(ray.cluster_resources().get("CPU", 1)))
        waiting, running = list(reversed(tasks)), {}
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
        """Shut down the local Ray this runner started; a cluster it joined keeps running."""
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False

    def _connected(self) -> Any:
        """The ray module, connected: to ``address``, or to a local Ray started on first use."""
        if self._ray is None:
            try:
                import ray
            except ImportError as error:
                raise RuntimeError(INSTALL_HINT) from error
            self._ray = ray
        if not self._ray.is_initialized():
            local = {"num_cpus": self.cpus} if self.address is None else {}
            self._ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                           logging_level=logging.ERROR, **local)
            self._started_here = True
        return self._ray

    def _finished(self, running: dict[Any, tuple[Task, float]]) -> Iterator[tuple[Task, Any]]:
        """Wait for the next task to finish or the oldest to run out of time; yield what ended."""
        oldest = min(started for _, started in running.values())
        wait_s = max(0.0, oldest + self.timeout_s - time.monotonic())
        ready, _ = self._ray.wait(list(running), num_returns=1, timeout=wait_s)
        for ref in ready:
            yield running.pop(ref)[0], self._outcome(ref)
        for ref in [ref for ref, (_, started) in running.items() if time.monotonic() - started > self.timeout_s]:
            self._ray.cancel(ref, force=True)
            yield running.pop(ref)[0], TaskTimeout(f"took longer than {self.timeout_s:g} s; stopped (raise --file-timeout)")

    def _outcome(self, ref: Any) -> Any:
        """The task's result, the exception it raised, or WorkerDied when its worker went away."""
        from ray import exceptions

        try:
            return self._ray.get(ref)
        except exceptions.RayTaskError as error:
            return error.cause if isinstance(error.cause, BaseException) else error
        except (exceptions.WorkerCrashedError, exceptions.OutOfMemoryError, exceptions.NodeDiedError) as error:
            return WorkerDied(f"the Ray worker died ({type(error).__name__}); likely out of memory")
        except exceptions.RayError as error:
            return error
