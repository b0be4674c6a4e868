"""The CUDA paths: the decoder, the judge, the embedder, the NLI checker and the FAISS search on a GPU give
what the CPU gives. Tiny randomly initialised models (tests/tiny_models.py) are loaded from a folder through
the same code as real ones; every test is marked ``gpu`` and skips without a CUDA device."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rag.check import NLIChecker  # noqa: E402
from rag.embedders import SentenceTransformerEmbedder  # noqa: E402
from rag.generate import TransformersGenerator  # noqa: E402
from rag.index import FaissIndex, gpu_count  # noqa: E402
from rag.pipeline import make_checker  # noqa: E402
from tests.tiny_models import (CLAIMS, PASSAGE, requires_cuda, save_bert, save_decoder,  # noqa: E402
                               save_sentence_transformer)

pytestmark = requires_cuda()


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_decoder(tmp_path_factory.mktemp("tiny-qwen2"))


def loaded(folder: Path, device: str, fp32: bool = False) -> TransformersGenerator:
    generator = TransformersGenerator(str(folder), device=device)
    generator.warm_up()
    if fp32:  # the saved fp32 weights, unrounded on either device, to compare GPU and CPU arithmetic closely
        from transformers import AutoModelForCausalLM

        generator._model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    return generator


def test_the_decoder_loads_on_the_gpu_in_bf16_by_default(decoder_dir: Path) -> None:
    generator = loaded(decoder_dir, "auto")
    assert generator._model.device.type == "cuda" and generator._model.dtype == torch.bfloat16


def test_batched_continuations_on_the_gpu_match_the_cpu(decoder_dir: Path) -> None:
    gpu, cpu = loaded(decoder_dir, "cuda", fp32=True), loaded(decoder_dir, "cpu", fp32=True)
    prefix, tail, choices = "user : passage : " + PASSAGE + " claim : ", " <end> assistant :", ["yes", "no"]
    for batch_size in (1, 2):  # 2: a padded batch, then the prefix cache restored on the GPU
        on_gpu = gpu.continuations(prefix, CLAIMS, tail, choices, batch_size=batch_size)
        on_cpu = cpu.continuations(prefix, CLAIMS, tail, choices, batch_size=batch_size)
        for a, b in zip(on_gpu, on_cpu, strict=True):
            assert np.allclose(a.choices, b.choices, atol=1e-4), batch_size
            assert len(a.token_log_probs) == len(b.token_log_probs) > 0
            assert np.allclose(a.token_log_probs, b.token_log_probs, atol=1e-3), batch_size


def test_the_judge_with_its_gain_runs_on_the_gpu_in_bf16_as_on_the_cpu(decoder_dir: Path) -> None:
    pairs = [(claim, PASSAGE) for claim in CLAIMS] + [(CLAIMS[0], "the library was founded in 1998 .")]
    on_gpu = make_checker("judge+gain", loaded(decoder_dir, "cuda")).judge(pairs)
    on_cpu = make_checker("judge+gain", loaded(decoder_dir, "cpu", fp32=True)).judge(pairs)
    for a, b in zip(on_gpu, on_cpu, strict=True):
        assert a.weakest_gain is not None and math.isfinite(a.weakest_gain)
        assert abs(a.support - b.support) < 0.05 and abs(a.weakest_gain - b.weakest_gain) < 0.25  # bf16 vs fp32


def test_the_embedder_on_the_gpu_matches_the_cpu(tmp_path: Path) -> None:
    folder = str(save_sentence_transformer(tmp_path / "st"))
    texts = [PASSAGE, *CLAIMS]
    gpu = SentenceTransformerEmbedder(folder, device="cuda")
    on_gpu, on_cpu = gpu.embed(texts), SentenceTransformerEmbedder(folder, device="cpu").embed(texts)
    assert gpu._model.device.type == "cuda" and on_gpu.shape == (4, gpu.dim)
    assert np.allclose(on_gpu, on_cpu, atol=1e-4) and np.allclose(np.linalg.norm(on_gpu, axis=1), 1, atol=1e-5)


def test_the_nli_checker_on_the_gpu_matches_the_cpu(tmp_path: Path) -> None:
    folder = str(save_bert(tmp_path / "nli", nli=True))
    pairs = [(claim, PASSAGE) for claim in CLAIMS]
    gpu = NLIChecker(folder, "cuda")
    assert gpu._model is None  # loads lazily, on the first judgement
    on_gpu, on_cpu = gpu.judge(pairs), NLIChecker(folder, "cpu").judge(pairs)
    assert gpu._model.device.type == "cuda"
    for a, b in zip(on_gpu, on_cpu, strict=True):
        assert abs(a.support - b.support) < 1e-4 and abs(a.contradict - b.contradict) < 1e-4


def test_faiss_searches_a_gpu_copy_with_the_cpu_results() -> None:
    faiss = pytest.importorskip("faiss")  # a GPU build without its CUDA libraries fails to import: skip
    if gpu_count() == 0:
        pytest.skip("FAISS sees no GPU (faiss-cpu, or a GPU build without a device; install the 'gpu' extra)")
    vectors = np.random.default_rng(0).normal(size=(500, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = FaissIndex(48)
    index.add(np.arange(1000, 1500, dtype=np.int64), vectors)
    searcher = index._searcher()  # the row-id map stays on the CPU around a GPU flat index
    assert "Gpu" in type(faiss.downcast_index(getattr(searcher, "index", searcher))).__name__
    for row, query in enumerate(vectors[:20] + 0.01):
        found = index.search(query, 5)
        scores, ids = index._native.search(query[None], 5)
        assert [i for i, _ in found] == ids[0].tolist() and found[0][0] == 1000 + row
        assert np.allclose([s for _, s in found], scores[0], atol=1e-4)
