"""The judge's batched claims on a shared prefix cache give what one long forward pass gives, on a tiny
randomly initialised Qwen2 (no weights to load): padding, mask, positions and the restored cache."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from rag.generate import TransformersGenerator  # noqa: E402


class CharTokenizer:
    """One token per character; enough for the judge's calls (ids, encode, pad id)."""

    pad_token_id = 0

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [4 + ord(character) % 60 for character in text]

    def __call__(self, text: str, add_special_tokens: bool = False, return_tensors: str | None = None) -> dict[str, Any]:
        ids = self.encode(text)
        return {"input_ids": torch.tensor([ids]) if return_tensors == "pt" else ids}


def tiny_generator() -> TransformersGenerator:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    generator = TransformersGenerator("tiny-random")
    generator._model, generator._tokenizer = Qwen2ForCausalLM(config).eval(), CharTokenizer()
    return generator


def one_pass(generator: TransformersGenerator, text: str, choices: list[str]) -> list[float]:
    """The choices' normalised probabilities after ``text``, from a single forward pass without a cache."""
    with torch.inference_mode():
        logits = generator._model(torch.tensor([generator._tokenizer.encode(text)])).logits[0, -1]
    probabilities = torch.softmax(logits.float(), dim=-1)
    mass = [float(probabilities[generator._tokenizer.encode(c)[0]]) for c in choices]
    return [m / sum(mass) for m in mass]


def test_batched_claims_match_one_forward_pass_each() -> None:
    generator, choices = tiny_generator(), ["A", "B", "C"]
    prefix = "Passage: the port opened in 1874 and was deepened in 2025.\nClaim: "
    suffixes = ["It opened in 1874.", "x", "The channel is now sixteen metres deep after dredging.", "No.", "Yes it was"]
    expected = [one_pass(generator, prefix + suffix, choices) for suffix in suffixes]
    for batch_size in (1, 2, 8):  # 2: three batches, each on the restored prefix cache, with padding
        got = generator.choice_probabilities(prefix, suffixes, choices, batch_size=batch_size)
        assert max(abs(a - b) for g, e in zip(got, expected) for a, b in zip(g, e)) < 1e-5, batch_size
