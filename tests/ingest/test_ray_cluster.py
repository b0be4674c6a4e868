"""`rag ingest --runner ray --ray-address auto` joins a Ray cluster that is already running (started here with
`ray start --head`, as on a cluster's head node), parses there, and leaves the cluster running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'rag-local[ray]')")
pytestmark = pytest.mark.slow  # starts a Ray head node (several seconds on 2 cores)

RAY = str(Path(sys.executable).parent / "ray")


@pytest.fixture()
def cluster() -> Iterator[None]:
    subprocess.run([RAY, "start", "--head", "--num-cpus", "2", "--include-dashboard", "false",
                    "--disable-usage-stats"], check=True, capture_output=True, timeout=120)
    yield
    subprocess.run([RAY, "stop", "--force"], check=True, capture_output=True, timeout=120)


def test_ingest_joins_a_running_cluster(cluster: None, capsys: pytest.CaptureFixture[str], sample_copy: Path,
                                        tmp_path: Path) -> None:
    import ray

    from rag.cli import main

    argv = ["--data-dir", str(tmp_path), "--embedder", "hash", "ingest", str(sample_copy), "--ocr", "off", "--json"]
    assert main([*argv, "--runner", "ray", "--ray-address", "auto"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["chunks_added"] > 0 and any(f["status"] == "added" for f in report["files"])
    ray.init(address="auto", log_to_driver=False)  # the cluster outlived the ingest that joined it
    try:
        assert ray.cluster_resources().get("CPU") == 2.0
    finally:
        ray.shutdown()
