"""Tiny randomly initialised models saved to a folder, so tests load them through the same code as real
local models (no weights to fetch): a Qwen2 decoder, a BERT encoder as a sentence-transformers model, and a
BERT NLI classifier. Their tokenizer is trained on WORDS, each word one token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

WORDS = ("the port opened in 1874 and was deepened 2025 channel is sixteen metres deep after dredging "
         "yes no maybe passage claim answer system user assistant library founded by a . , : ? 12 1998").split()
PASSAGE = "the port opened in 1874 and was deepened in 2025 . the channel is sixteen metres deep ."
CLAIMS = ["the port opened in 1874 .", "the channel is 12 metres deep after dredging in 1998 .", "yes"]
VOCABULARY = 600
EMBEDDING_DIMENSION = 32


def requires_cuda() -> list[Any]:
    """The marks of a test that needs a CUDA GPU: selected by ``-m gpu``, skipped without one."""
    import torch

    return [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def save_tokenizer(folder: Path, special: list[str], **roles: str) -> None:
    """A byte-level BPE tokenizer trained on WORDS (each a single token, with or without a leading space),
    with a plain chat template: the model type's own tokenizer class reads it back."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    trained = ByteLevelBPETokenizer()
    trained.train_from_iterator([" ".join(WORDS), *WORDS], vocab_size=VOCABULARY, min_frequency=1,
                                special_tokens=special, show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=trained._tokenizer, **roles)
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} <end> {% endfor %}"
                               "{% if add_generation_prompt %}assistant : {% endif %}")
    tokenizer.save_pretrained(folder)


def save_decoder(folder: Path) -> Path:
    """A two-layer Qwen2 with "<end>" as its end-of-turn token."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    save_tokenizer(folder, ["<pad>", "<end>"], pad_token="<pad>", eos_token="<end>")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=VOCABULARY, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=0, eos_token_id=1, bos_token_id=1)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


def save_bert(folder: Path, nli: bool) -> Path:
    """A two-layer BERT: a bare encoder, or an entailment / neutral / contradiction classifier."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    save_tokenizer(folder, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], pad_token="[PAD]", cls_token="[CLS]",
                   sep_token="[SEP]")
    torch.manual_seed(0)
    labels = {0: "entailment", 1: "neutral", 2: "contradiction"}
    config = BertConfig(vocab_size=VOCABULARY, hidden_size=EMBEDDING_DIMENSION, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        id2label=labels, label2id={v: k for k, v in labels.items()})
    (BertForSequenceClassification(config) if nli else BertModel(config)).save_pretrained(folder)
    return folder


def save_sentence_transformer(folder: Path) -> Path:
    """The BERT encoder with mean pooling, saved as sentence-transformers saves a model today."""
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers before the 6.x module layout
        from sentence_transformers.models import Pooling, Transformer

    encoder = Transformer(str(save_bert(folder.with_name(folder.name + "-bert"), nli=False)))
    SentenceTransformer(modules=[encoder, Pooling(EMBEDDING_DIMENSION, "mean")]).save(str(folder))
    return folder
