from __future__ import annotations

import time

import pytest

from ingest.runners import LocalRunner, RunnerUnavailable, SerialRunner, TaskTimeout, WorkerDied


def slow_or_fast(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def crash(code: int) -> None:
    import os

    os._exit(code)


def test_a_hanging_task_is_stopped_and_the_others_finish() -> None:
    runner = LocalRunner(workers=2, timeout_s=2.0, memory_mb=0)
    started = time.monotonic()
    outcomes = dict(runner.map_unordered(slow_or_fast, [0.1, 60.0, 0.2, 0.3]))
    assert time.monotonic() - started < 30
    assert isinstance(outcomes[60.0], TaskTimeout) and "longer than 2 s" in str(outcomes[60.0])
    assert [outcomes[s] for s in (0.1, 0.2, 0.3)] == [0.1, 0.2, 0.3]
    assert dict(runner.map_unordered(slow_or_fast, [0.05])) == {0.05: 0.05}  # the pool survives
    runner.close()


def test_memory_cap_turns_a_bomb_into_an_error_and_crashes_are_reported() -> None:
    runner = LocalRunner(workers=1, timeout_s=30.0, memory_mb=1024)
    outcomes = dict(runner.map_unordered(allocate, [4096, 1]))
    runner.close()
    assert isinstance(outcomes[4096], MemoryError) and outcomes[1] == 1024 * 1024
    crasher = LocalRunner(workers=1, timeout_s=30.0, memory_mb=0)
    died = dict(crasher.map_unordered(crash, [3]))
    crasher.close()
    assert isinstance(died[3], WorkerDied) and "exit code 3" in str(died[3])


def test_the_memory_cap_never_asks_above_the_hard_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.runners as runners

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(runners.resource, "getrlimit", lambda kind: (3 << 30, 3 << 30))  # as after `ulimit -v 3145728`
    monkeypatch.setattr(runners.resource, "setrlimit", lambda kind, limits: calls.append(limits))
    runners.limit_memory(4096)
    runners.limit_memory(1024)
    assert calls == [(3 << 30, 3 << 30), (1 << 30, 3 << 30)]  # a ValueError in every worker before


def test_serial_runner_returns_exceptions() -> None:
    outcomes = list(SerialRunner().map_unordered(lambda x: 1 / x, [1, 0]))
    assert outcomes[0] == (1, 1.0) and isinstance(outcomes[1][1], ZeroDivisionError)


class _FakeRay:
    """What _ProcessRay calls of the ray module."""

    def __init__(self) -> None:
        self.up, self.joined = False, []

    def is_initialized(self) -> bool:
        return self.up

    def init(self, address: str, **options: object) -> None:
        self.up = True
        self.joined.append(address)

    def shutdown(self) -> None:
        self.up = False


def test_one_process_holds_one_ray_and_refuses_another_address_while_it_is_used() -> None:
    from ingest.ray_runner import _ProcessRay

    ray, shared = _FakeRay(), _ProcessRay()
    shared.acquire(ray, None, 2)
    shared.acquire(ray, None, 2)  # a second runner shares the local Ray
    with pytest.raises(RunnerUnavailable, match="already uses a local Ray; it cannot also use the Ray cluster at auto"):
        shared.acquire(ray, "auto", None)
    shared.release(ray)
    shared.release(ray)
    assert not ray.up  # the last user shut down the Ray it started
    shared.acquire(ray, "auto", None)  # once nothing uses it, another address is fine
    assert ray.joined == ["local", "auto"] and shared.address == "auto"
