"""The judge's batched claims on a shared prefix cache give what one long forward pass gives (the choices
after each claim and the log-probability of each claim token), on a tiny randomly initialised Qwen2 (no
weights to load): padding, mask, positions and the restored cache."""

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


def one_pass(generator: TransformersGenerator, text: str, choices: list[str],
             scored: range) -> tuple[list[float], list[float]]:
    """The choices' normalised probabilities after ``text`` and the log-probability of its tokens at the
    positions in ``scored``, from a single forward pass without a cache."""
    ids = generator._tokenizer.encode(text)
    with torch.inference_mode():
        logits = generator._model(torch.tensor([ids])).logits[0].float()
    probabilities = torch.softmax(logits[-1], dim=-1)
    mass = [float(probabilities[generator._tokenizer.encode(c)[0]]) for c in choices]
    log_probs = torch.log_softmax(logits, dim=-1)
    return [m / sum(mass) for m in mass], [float(log_probs[i - 1, ids[i]]) for i in scored]


def test_batched_claims_match_one_forward_pass_each() -> None:
    generator, choices = tiny_generator(), ["A", "B", "C"]
    prefix, tail = "Passage: the port opened in 1874 and was deepened in 2025.\nClaim: ", "\nAnswer:"
    texts = ["It opened in 1874.", "x", "The channel is now sixteen metres deep after dredging.", "No.", "Yes it was"]
    expected = [one_pass(generator, prefix + text + tail, choices, range(len(prefix), len(prefix) + len(text)))
                for text in texts]
    for batch_size in (1, 2, 8):  # 2: three batches, each on the restored prefix cache, with padding
        got = generator.continuations(prefix, texts, tail, choices, batch_size=batch_size)
        for run, (shares, log_probs) in zip(got, expected, strict=True):
            assert max(abs(a - b) for a, b in zip(run.choices, shares, strict=True)) < 1e-5, batch_size
            # the text's tokens only, not the tail's (strict: the lengths must agree)
            assert max(abs(a - b) for a, b in zip(run.token_log_probs, log_probs, strict=True)) < 1e-4, batch_size
    unscored = generator.continuations(prefix, texts, tail, choices, batch_size=2, scored=False)
    assert [run.token_log_probs for run in unscored] == [()] * len(texts)
    assert max(abs(a - b) for run, (shares, _) in zip(unscored, expected) for a, b in zip(run.choices, shares)) < 1e-5
