from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from rag.models import ModelUnavailable, PackagedGenerator, _complete, assemble_gguf, part_files


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackagedGenerator:
    """Two importable packages holding the two halves of a 'GGUF' file."""
    payload = b"GGUF" + bytes(range(256)) * 100
    for number, half in enumerate((payload[:9000], payload[9000:]), start=1):
        package = tmp_path / "site" / f"fakepart{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part0{number}.bin").write_bytes(half)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in ("fakepart1", "fakepart2"):
        sys.modules.pop(name, None)
    return PackagedGenerator("fake", "Fake-1B", "fake.gguf", hashlib.sha256(payload).hexdigest(),
                             ("fakepart1", "fakepart2"), "data/part*.bin", "pip install fakepart")


def test_parts_join_verify_once_and_rejoin_when_damaged(fake_packages: PackagedGenerator, tmp_path: Path) -> None:
    logged: list[str] = []
    target = assemble_gguf(fake_packages, tmp_path / "cache", logged.append)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == fake_packages.sha256 and len(logged) == 1
    assert assemble_gguf(fake_packages, tmp_path / "cache", logged.append) == target and len(logged) == 1
    target.write_bytes(b"truncated")
    assemble_gguf(fake_packages, tmp_path / "cache", logged.append)
    assert len(logged) == 2 and hashlib.sha256(target.read_bytes()).hexdigest() == fake_packages.sha256


def test_wrong_checksum_and_missing_packages_fail_clearly(fake_packages: PackagedGenerator, tmp_path: Path) -> None:
    from dataclasses import replace

    with pytest.raises(ModelUnavailable, match="sha256"):
        assemble_gguf(replace(fake_packages, sha256="0" * 64), tmp_path / "c1", lambda m: None)
    assert list((tmp_path / "c1" / "gguf").iterdir()) == []  # neither the model nor the failed join's file
    with pytest.raises(ModelUnavailable, match="pip install fakepart"):
        part_files(replace(fake_packages, modules=("fakepart1", "no_such_part_module")))


def test_an_interrupted_join_leaves_no_partial_file(fake_packages: PackagedGenerator, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.models

    def interrupted(parts: list[Path], target: Path) -> str:
        target.write_bytes(b"GGUF half written")
        raise KeyboardInterrupt
    monkeypatch.setattr(rag.models, "_join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        assemble_gguf(fake_packages, tmp_path / "cache", lambda m: None)
    assert list((tmp_path / "cache" / "gguf").iterdir()) == []  # each process's temporary name is never reused


def test_temporaries_of_a_killed_join_are_removed_by_the_next_one(fake_packages: PackagedGenerator,
                                                                   tmp_path: Path) -> None:
    import os

    folder = tmp_path / "cache" / "gguf"
    folder.mkdir(parents=True)
    killed = folder / f"{fake_packages.gguf_file}.partial-999999999"  # no such process
    running = folder / f"{fake_packages.gguf_file}.partial-{os.getppid()}"  # a join still under way
    killed.write_bytes(b"half"), running.write_bytes(b"half")
    assemble_gguf(fake_packages, tmp_path / "cache", lambda m: None)
    assert not killed.exists() and running.exists()


def _fake_conversion(folder: Path, gguf: Path, marker: str) -> None:
    from rag.models import _source

    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_text(marker)
    (folder / "complete.json").write_text(json.dumps({"source": _source(gguf), "files": {"model.safetensors": len(marker)}}))


def test_a_conversion_that_loses_a_race_or_is_interrupted_leaves_the_finished_cache_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.models
    from rag.models import bf16_cache, convert_gguf

    gguf, cache = tmp_path / "m.gguf", tmp_path / "cache"
    gguf.write_bytes(b"GGUF")
    target = bf16_cache(gguf, cache)
    def racing(folder: Path, source: Path) -> None:  # another process finishes while this one converts
        _fake_conversion(folder, source, "mine")
        _fake_conversion(target, source, "theirs")
    monkeypatch.setattr(rag.models, "_convert_into", racing)
    assert convert_gguf(gguf, cache, lambda m: None) == target
    assert (target / "model.safetensors").read_text() == "theirs" and sorted(p.name for p in target.parent.iterdir()) == [target.name]
    def interrupted(folder: Path, source: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_text("half")
        raise KeyboardInterrupt
    monkeypatch.setattr(rag.models, "_convert_into", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert_gguf(gguf, tmp_path / "other-cache", lambda m: None)
    assert list((tmp_path / "other-cache" / "bf16").iterdir()) == []


def test_cache_folder_is_complete_only_with_its_record_for_this_gguf(tmp_path: Path) -> None:
    from rag.models import _source

    folder, gguf, other = tmp_path / "model", tmp_path / "a" / "m.gguf", tmp_path / "b" / "m.gguf"
    folder.mkdir()
    for path in (gguf, other):
        path.parent.mkdir()
        path.write_bytes(b"GGUF")
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    assert not _complete(folder, gguf)
    (folder / "complete.json").write_text(json.dumps({"source": _source(gguf), "files": {"model.safetensors": 10}}))
    assert _complete(folder, gguf) and not _complete(folder, other)  # same name, another file
    gguf.write_bytes(b"GGUF, replaced")
    assert not _complete(folder, gguf)
    (folder / "complete.json").write_text(json.dumps({"source": _source(gguf), "files": {"model.safetensors": 10}}))
    (folder / "model.safetensors").write_bytes(b"x" * 5)  # a partial write
    assert not _complete(folder, gguf)


def test_a_missing_model_path_or_unknown_name_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.models import resolve_generator

    with pytest.raises(ModelUnavailable, match="no model folder"):
        resolve_generator(str(tmp_path / "nowhere"), tmp_path)  # not taken for a hub id
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="unknown model 'qwen-huge'"):
        resolve_generator("qwen-huge", tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "true")  # any of the true spellings
    with pytest.raises(ModelUnavailable, match="unknown model 'defualt'"):
        resolve_generator("defualt", tmp_path)
    with pytest.raises(ModelUnavailable, match="no model folder or .gguf file"):
        resolve_generator("Model.GGUF", tmp_path)


def test_a_missing_embedder_folder_or_a_mistyped_checker_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    from rag.generate import FakeGenerator
    from rag.models import resolve_embedder
    from rag.pipeline import make_checker

    for spec in (str(tmp_path / "minilm"), "./minilm", "~/no-such-models/minilm", "models/st/minilm"):
        with pytest.raises(ModelUnavailable, match="no sentence-transformers model folder at"):
            resolve_embedder(spec)  # not a hub id to fetch
    assert resolve_embedder("sentence-transformers/all-mpnet-base-v2").is_local is False  # a hub id stays one
    with pytest.raises(ModelUnavailable, match="checker 'overlapp' is not judge, judge\\+gain, overlap or a local"):
        make_checker("overlapp", FakeGenerator())
    assert make_checker("overlap", FakeGenerator()).__class__.__name__ == "OverlapChecker"


def test_prepare_refuses_a_name_it_cannot_prepare(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.cli import main

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert main(["--data-dir", str(tmp_path), "models", "prepare", "defualt"]) == 2
    assert "'defualt' is not a packaged model" in capsys.readouterr().err
