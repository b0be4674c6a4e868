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
    assert not (tmp_path / "c1" / "gguf" / "fake.gguf").exists()
    with pytest.raises(ModelUnavailable, match="pip install fakepart"):
        part_files(replace(fake_packages, modules=("fakepart1", "no_such_part_module")))


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


def test_prepare_refuses_a_name_it_cannot_prepare(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.cli import main

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert main(["--data-dir", str(tmp_path), "models", "prepare", "defualt"]) == 2
    assert "'defualt' is not a packaged model" in capsys.readouterr().err
