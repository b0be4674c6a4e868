"""Local model folders (what a user points --embedder or --model at) load through the real code paths:
tiny randomly initialised models saved the way sentence-transformers and transformers save them today."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rag.embedders import SentenceTransformerEmbedder, _pooling_dimension  # noqa: E402
from rag.generate import TransformersGenerator  # noqa: E402
from rag.types import GenerationOptions  # noqa: E402
from tests.tiny_models import (EMBEDDING_DIMENSION, PASSAGE, requires_cuda, save_decoder,  # noqa: E402
                               save_sentence_transformer)

DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda())]


def test_a_sentence_transformers_folder_is_told_from_another_checkpoint_of_the_same_name(tmp_path: Path) -> None:
    folder = save_sentence_transformer(tmp_path / "st")
    embedder = SentenceTransformerEmbedder(str(folder), device="cpu")
    before = embedder.fingerprint
    (folder / "config.json").write_text((folder / "config.json").read_text().replace("}", ', "note": 1}', 1))
    assert embedder.fingerprint != before and embedder._model is None  # told without loading it
    packaged = SentenceTransformerEmbedder("packaged")  # a folder named like it may hold another checkpoint
    assert packaged.fingerprint not in ("", before) and packaged._model is None


def test_a_sentence_transformers_folder_tells_its_dimension_before_loading(tmp_path: Path) -> None:
    folder = save_sentence_transformer(tmp_path / "st")
    embedder = SentenceTransformerEmbedder(str(folder), device="cpu")
    assert embedder.dim == EMBEDDING_DIMENSION and embedder._model is None  # 6.x: "embedding_dimension"
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({"word_embedding_dimension": 7, "pooling_mode_mean_tokens": True}))
    assert embedder.dim == 7 and embedder._model is None  # as sentence-transformers before 6 wrote it


@pytest.mark.parametrize("pooling, extra_module", [
    ({"embedding_dimension": 32, "pooling_mode": ["mean", "max"]}, None),  # two modes: 64 wide
    ({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}, None),
    ({"embedding_dimension": 32, "pooling_mode": "mean"}, "sentence_transformers.models.Dense"),  # projects
])
def test_a_pooling_config_that_does_not_decide_the_width_is_not_trusted(
        tmp_path: Path, pooling: dict[str, object], extra_module: str | None) -> None:
    folder = save_sentence_transformer(tmp_path / "st")
    assert _pooling_dimension(str(folder)) == EMBEDDING_DIMENSION
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if extra_module:
        modules = json.loads((folder / "modules.json").read_text())
        (folder / "modules.json").write_text(json.dumps(modules + [{"idx": 2, "path": "2_Dense", "type": extra_module}]))
    assert _pooling_dimension(str(folder)) is None


@pytest.mark.parametrize("device", DEVICES)
def test_a_sentence_transformers_folder_embeds_unit_vectors(tmp_path: Path, device: str) -> None:
    embedder = SentenceTransformerEmbedder(str(save_sentence_transformer(tmp_path / "st")), device=device)
    vectors = embedder.embed([PASSAGE, "the port", PASSAGE])
    assert vectors.shape == (3, EMBEDDING_DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5) and np.allclose(vectors[0], vectors[2])
    assert embedder._model.device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_a_decoder_folder_streams_its_greedy_reply(tmp_path: Path, device: str) -> None:
    folder = save_decoder(tmp_path / "tiny-qwen2")
    generator = TransformersGenerator(str(folder), device=device)
    messages = [{"role": "user", "content": "when was the port founded ?"}]
    streamed = "".join(generator.stream(messages, GenerationOptions(max_new_tokens=12, temperature=0.0)))
    assert generator.name == "tiny-qwen2" and generator._model.device.type == device
    inputs = generator._tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                      return_dict=True).to(device)
    direct = generator._model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=1)
    expected = generator._tokenizer.decode(direct[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert streamed.strip() == expected.strip() and streamed.strip()


def test_a_stream_closed_early_stops_decoding_and_frees_the_model(tmp_path: Path) -> None:
    """A reader that stops (a closed browser tab) must not leave the shared model locked while the
    abandoned answer decodes on to max_new_tokens."""
    generator = TransformersGenerator(str(save_decoder(tmp_path / "tiny-qwen2")), device="cpu")
    generator.warm_up()
    generator._model.generation_config.eos_token_id = None  # the random model must not end on its own
    decoded: list[int] = []
    forward = generator._model.forward
    generator._model.forward = lambda *args, **kwargs: decoded.append(1) or forward(*args, **kwargs)
    pieces = generator.stream([{"role": "user", "content": "the port ?"}], GenerationOptions(max_new_tokens=400))
    next(pieces)
    pieces.close()
    assert not generator._lock.locked() and len(decoded) < 100
    ended: list[bool] = []  # a reader gone before the model was free: no decoding at all
    generator._model.generate = lambda **kwargs: pytest.fail("decoded for a reader that left")
    left = threading.Event()
    left.set()
    generator._generate({}, GenerationOptions(), type("Streamer", (), {"end": lambda self: ended.append(True)})(),
                        [], left)
    assert ended == [True]


def test_answers_streamed_from_two_threads_are_each_what_it_gives_alone(tmp_path: Path) -> None:
    """UI sessions share one loaded model: concurrent streams must not mix their tokens."""
    from concurrent.futures import ThreadPoolExecutor

    generator = TransformersGenerator(str(save_decoder(tmp_path / "tiny-qwen2")), device="cpu")
    greedy = GenerationOptions(max_new_tokens=16, temperature=0.0)
    conversations = [[{"role": "user", "content": text}] for text in ("the port ?", "is the channel deep ?")]
    alone = ["".join(generator.stream(messages, greedy)) for messages in conversations]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda messages: "".join(generator.stream(messages, greedy)), conversations * 2))
    assert together == alone * 2 and alone[0] != alone[1]


def test_a_chat_template_that_refuses_a_system_turn_gets_it_in_the_user_turn(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    folder = save_decoder(tmp_path / "tiny-gemma-like")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                               "{% endif %}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} <end> {% endfor %}"
                               "{% if add_generation_prompt %}assistant : {% endif %}")
    tokenizer.save_pretrained(folder)
    generator = TransformersGenerator(str(folder), device="cpu")
    messages = [{"role": "system", "content": "answer from the passage ."}, {"role": "user", "content": "the port ?"}]
    assert generator.render_chat(messages) == "user : answer from the passage .\n\nthe port ? <end> assistant : "
    assert list(generator.stream(messages, GenerationOptions(max_new_tokens=2)))  # it generates instead of failing
