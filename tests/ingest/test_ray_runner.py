"""RayRunner on a local Ray: the same contract as LocalRunner (results, exceptions, timeouts, dead workers),
and a whole ingest through it gives the same collection as the local runner."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from ingest.runners import SerialRunner, TaskTimeout, WorkerDied
from tests.ingest.test_runners import crash, slow_or_fast

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'rag-local[ray]')")
pytestmark = pytest.mark.slow  # each module starts Ray (several seconds on 2 cores)

from ingest.ray_runner import RayRunner  # noqa: E402


@pytest.fixture(scope="module")
def runner() -> Iterator[RayRunner]:
    started = RayRunner(timeout_s=3.0, cpus=2)
    yield started
    started.close()
    assert not ray.is_initialized()  # the local Ray it started is shut down


def test_results_and_errors_come_back_per_task(runner: RayRunner) -> None:
    outcomes = dict(runner.map_unordered(slow_or_fast, [0.1, -1.0, 0.2]))  # (steps must be importable by workers)
    assert outcomes[0.1] == 0.1 and outcomes[0.2] == 0.2
    assert type(outcomes[-1.0]) is ValueError and "non-negative" in str(outcomes[-1.0])  # the task's own, unwrapped


def test_a_hanging_task_is_stopped_and_a_dead_worker_reported(runner: RayRunner) -> None:
    started = time.monotonic()
    outcomes = dict(runner.map_unordered(slow_or_fast, [0.1, 60.0, 0.2, 0.3]))
    assert time.monotonic() - started < 30
    assert isinstance(outcomes[60.0], TaskTimeout) and "longer than 3 s" in str(outcomes[60.0])
    assert [outcomes[s] for s in (0.1, 0.2, 0.3)] == [0.1, 0.2, 0.3]
    died = dict(runner.map_unordered(crash, [3]))
    assert isinstance(died[3], WorkerDied)
    assert dict(runner.map_unordered(slow_or_fast, [0.05])) == {0.05: 0.05}  # Ray goes on after both


def test_an_ingest_on_ray_matches_the_local_one(runner: RayRunner, sample_copy: Path, tmp_path: Path) -> None:
    from ingest.pipeline import IngestOptions, ingest_paths
    from rag.config import Settings

    reports = {}
    for name, chosen in (("serial", SerialRunner()), ("ray", runner)):
        settings = Settings(data_dir=tmp_path / name, embedder="hash", ocr="off")
        reports[name] = ingest_paths([sample_copy], settings, runner=chosen, options=IngestOptions(progress=False))
    files = {name: sorted((Path(o.path).name, o.status, o.chunks) for o in report.files)
             for name, report in reports.items()}
    assert files["ray"] == files["serial"] and reports["ray"].chunks_added == reports["serial"].chunks_added > 0


def test_cli_ingest_on_ray_prints_clean_json(capsys: pytest.CaptureFixture[str], sample_copy: Path,
                                             tmp_path: Path) -> None:
    import json

    from rag.cli import main

    argv = ["--data-dir", str(tmp_path), "--embedder", "hash", "ingest", str(sample_copy), "--ocr", "off", "--json"]
    assert main([*argv, "--runner", "ray", "--workers", "2"]) == 0
    report = json.loads(capsys.readouterr().out)  # Ray's own messages stay off stdout
    assert report["chunks_added"] > 0 and {f["status"] for f in report["files"]} <= {"added", "skipped", "failed"}


def test_runners_share_the_process_ray_and_the_last_to_close_shuts_it_down(capsys: pytest.CaptureFixture[str],
                                                                          tmp_path: Path) -> None:
    from ingest.pipeline import make_runner
    from rag.config import load_settings

    first = make_runner(load_settings({"RAG_RUNNER": "ray"}, data_dir=tmp_path))  # connected at once
    second = RayRunner(timeout_s=5.0).connect()  # e.g. a second UI session ingesting at the same time
    assert isinstance(first, RayRunner) and ray.is_initialized()
    first.close()
    assert ray.is_initialized() and dict(second.map_unordered(slow_or_fast, [0.05])) == {0.05: 0.05}
    second.close()
    first.close()  # closing twice changes nothing
    assert not ray.is_initialized()


def test_no_cluster_at_the_address_is_a_clear_error_before_any_file_is_read(
        capsys: pytest.CaptureFixture[str], sample_copy: Path, tmp_path: Path) -> None:
    from rag.cli import main

    argv = ["--data-dir", str(tmp_path / "data"), "--embedder", "hash", "ingest", str(sample_copy)]
    assert main([*argv, "--runner", "ray", "--ray-address", "auto"]) == 2
    assert "could not join the Ray cluster at auto" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # no collection was opened
