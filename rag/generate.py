"""Generators: a local transformers decoder (streaming) and a deterministic fake for tests."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from rag.embedders import quiet_transformers, resolve_device, word_tokens
from rag.models import resolve_generator
from rag.prompts import ABSTAIN_TEXT
from rag.protocols import Generator, Messages
from rag.types import Continuation, GenerationOptions


JUDGE_BATCH_SIZE = 8  # claims judged together against one passage; each holds a copy of the passage's cache
# (and, when their token log-probabilities are read, the logits of every position: ~0.5 GB for 8 x 100 tokens)


def cpu_has_fast_bf16() -> bool:
    """bf16 pays on CPUs with AVX512-BF16 or AMX; on AVX2 alone it is several times slower than fp32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def pick_dtype(device: str) -> Any:
    import torch

    return torch.bfloat16 if device.startswith("cuda") or cpu_has_fast_bf16() else torch.float32


def choice_shares(logits: Any, choice_ids: list[list[int]]) -> tuple[float, ...]:
    """Each choice's share of the next-token probability mass the choices hold together."""
    import torch

    probabilities = torch.softmax(logits.float(), dim=-1)
    mass = [float(probabilities[ids].sum()) for ids in choice_ids]
    return tuple(m / max(sum(mass), 1e-12) for m in mass)


def token_log_probs(first_logits: Any, row_logits: Any, ids: list[int]) -> tuple[float, ...]:
    """log P of each token in ``ids``: the first predicted by ``first_logits`` (the position before them),
    the others by the last ``len(ids) - 1`` rows of ``row_logits`` before its end (left padding comes first)."""
    import torch

    if not ids:
        return ()
    predicting = torch.cat([first_logits[None], row_logits[row_logits.shape[0] - len(ids):-1]])
    log_probs = torch.log_softmax(predicting.float(), dim=-1)
    return tuple(log_probs[torch.arange(len(ids)), torch.tensor(ids, device=log_probs.device)].tolist())


def stop_when_set(event: threading.Event) -> Any:
    """Stopping criteria for ``generate`` that end it, after the current token, once ``event`` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopWhenSet(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), event.is_set(), device=input_ids.device, dtype=torch.bool)

    return StoppingCriteriaList([_StopWhenSet()])


@dataclass
class TransformersGenerator:
    """A Hugging Face causal LM (packaged name, local dir, GGUF file or hub id), loaded once in ``warm_up``."""

    spec: str = "default"
    device: str = "auto"
    cache_dir: Path = Path(".rag-data/models")
    max_context: int = 4096
    log: Callable[[str], None] = lambda message: None
    _model: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _name: str = field(default="", init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def name(self) -> str:
        return self._name or self.spec

    @property
    def context_window(self) -> int:
        self.warm_up()
        return min(int(getattr(self._model.config, "max_position_embeddings", self.max_context)), self.max_context)

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                self._load()

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: Messages, options: GenerationOptions) -> Iterator[str]:
        """Yield text pieces as the model writes them (generation runs in a background thread)."""
        from transformers import TextIteratorStreamer

        self.warm_up()
        inputs = self._chat(messages, return_tensors="pt", return_dict=True).to(self._model.device)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []
        abandoned = threading.Event()
        worker = threading.Thread(target=self._generate, args=(inputs, options, streamer, failure, abandoned),
                                  daemon=True)
        worker.start()
        try:
            yield from streamer
        finally:  # a reader that stops early (a closed tab, a rerun) stops the decoding and frees the model
            abandoned.set()
            worker.join()
        if failure:
            raise failure[0]

    def continuations(self, prefix: str, texts: list[str], tail: str, choices: list[str],
                      batch_size: int | None = None, scored: bool = True) -> list[Continuation]:
        """For each text, what the model makes of ``prefix + text + tail``: the choices' probabilities for the
        next token, and (when ``scored``; else none) the log-probability of each of the text's tokens, which
        needs the logits of every position, not just the last. The prefix runs once; its key/value
        cache serves every text, ``batch_size`` texts per forward pass: one pass reads all the weights once,
        so batching pays on a CPU too (bench/judge.py)."""
        import torch

        self.warm_up()
        choice_ids = [self._single_token_ids(choice) for choice in choices]
        text_ids, tail_ids = [self._token_ids(text) for text in texts], self._token_ids(tail)
        size = batch_size or JUDGE_BATCH_SIZE
        order = sorted(range(len(texts)), key=lambda i: len(text_ids[i]))  # similar lengths pad less
        found: dict[int, Continuation] = {}
        with self._lock, torch.inference_mode():
            cache, prefix_length, next_logits = self._prefix_cache(prefix)
            for start in range(0, len(order), size):
                batch = order[start:start + size]
                logits = self._suffix_logits(cache, prefix_length, [text_ids[i] + tail_ids for i in batch], scored)
                for i, row in zip(batch, logits):
                    read = token_log_probs(next_logits, row[:row.shape[0] - len(tail_ids)], text_ids[i]) if scored else ()
                    found[i] = Continuation(choice_shares(row[-1], choice_ids), read)
        return [found[i] for i in range(len(texts))]

    def _token_ids(self, text: str) -> list[int]:
        return self._tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def _prefix_cache(self, prefix: str) -> tuple[Any, int, Any]:
        """The prefix's key/value cache, its length in tokens, and the logits of the token after it."""
        ids = self._tokenizer(prefix, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self._model.device)
        output = self._model(ids, use_cache=True, logits_to_keep=1)
        return output.cache, ids.shape[1], output.logits[0, -1]

    def _suffix_logits(self, cache: Any, prefix_length: int, suffixes: list[list[int]], every_position: bool) -> Any:
        """The logits at every position of each suffix (token ids), or at the last one only, run together on
        the prefix's cache and padded on the left; the cache is left as it was (the prefix alone, batch of one)."""
        import torch

        ids, mask, positions = self._left_padded(suffixes, prefix_length)
        device = self._model.device
        cache.batch_repeat_interleave(len(suffixes))
        logits = self._model(ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                             cache=cache, use_cache=True, logits_to_keep=ids.shape[1] if every_position else 1).logits
        cache.crop(-ids.shape[1])
        cache.batch_select_indices(torch.tensor([0], device=device))
        return logits

    def _left_padded(self, encoded: list[list[int]], prefix_length: int) -> tuple[Any, Any, Any]:
        """Token ids, attention mask (prefix included) and positions of suffixes padded on the left: every
        row's last token is in the last column, the padding is masked, the positions continue the prefix's."""
        import torch

        width, pad = max(len(ids) for ids in encoded), self._tokenizer.pad_token_id or 0
        ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded])
        real = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
        mask = torch.cat([torch.ones(len(encoded), prefix_length, dtype=torch.long), real], dim=1)
        return ids, mask, prefix_length + (real.cumsum(dim=1) - 1).clamp(min=0)

    def _single_token_ids(self, choice: str) -> list[int]:
        """Token ids that spell the choice alone, with and without a leading space."""
        ids = {tuple(self._tokenizer.encode(variant, add_special_tokens=False)) for variant in (choice, " " + choice)}
        return [single[0] for single in ids if len(single) == 1]

    def render_chat(self, messages: Messages) -> str:
        """The chat template applied as text, ready for the assistant's reply."""
        self.warm_up()
        return self._chat(messages, tokenize=False)

    def _chat(self, messages: Messages, **options: Any) -> Any:
        """The chat template applied; a template that refuses a system turn (Gemma's raises) gets the system
        text at the head of the first user turn instead."""
        from jinja2 import TemplateError

        try:
            return self._tokenizer.apply_chat_template(messages, add_generation_prompt=True, **options)
        except TemplateError:
            if len(messages) < 2 or messages[0]["role"] != "system":
                raise
            return self._tokenizer.apply_chat_template(without_system_turn(messages), add_generation_prompt=True,
                                                       **options)

    def _generate(self, inputs: Any, options: GenerationOptions, streamer: Any, failure: list,
                  abandoned: threading.Event) -> None:
        import torch

        sampling = {"do_sample": True, "temperature": options.temperature, "top_p": options.top_p} \
            if options.temperature > 0 else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        try:
            with self._lock, torch.inference_mode():
                if abandoned.is_set():  # its reader left while it waited for the model: no prefill for nobody
                    return streamer.end()
                self._model.generate(**inputs, max_new_tokens=options.max_new_tokens, streamer=streamer,
                                     pad_token_id=self._tokenizer.eos_token_id,
                                     stopping_criteria=stop_when_set(abandoned), **sampling)
        except BaseException as error:  # surfaced in the consuming thread
            failure.append(error)
            streamer.end()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quiet_transformers()
        source = resolve_generator(self.spec, self.cache_dir, self.log)
        device = resolve_device(self.device)
        self._tokenizer = AutoTokenizer.from_pretrained(source.location)
        model = AutoModelForCausalLM.from_pretrained(source.location, dtype=pick_dtype(device)).to(device).eval()
        if device == "cpu":
            for parameter in model.parameters():  # fresh memory decodes ~25% faster than the mmapped cache
                parameter.data = parameter.data.clone()
        torch.set_grad_enabled(False)
        self._model, self._name = model, source.name


@dataclass
class FakeGenerator:
    """Deterministic stand-in for tests: cites the passage sharing most words with the question.

    It answers with that passage's first sentence and ``[n]``, or abstains when no passage shares a
    content word. Output streams word by word.
    """

    reply: Callable[[Messages], str] | None = None
    calls: list[Messages] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "fake"

    @property
    def context_window(self) -> int:
        return 4096

    def warm_up(self) -> None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(word_tokens(text))

    def stream(self, messages: Messages, options: GenerationOptions) -> Iterator[str]:
        self.calls.append(messages)
        text = self.reply(messages) if self.reply else _best_passage_answer(messages[-1]["content"])
        words = text.split(" ")[: options.max_new_tokens]
        for index, word in enumerate(words):
            yield word if index == 0 else " " + word


_STOP = frozenset("a an and are at by did does do for from how in is it of on or the to was what when where which who why with".split())


def _best_passage_answer(user_message: str) -> str:
    question = user_message.rsplit("Question:", 1)[-1]
    wanted = {w for w in word_tokens(question) if w.isalnum() and w not in _STOP}
    blocks = re.findall(r"^\[(\d+)\] \([^)]*\)\n(.*?)(?=\n\n\[\d+\] |\n\nQuestion:|\Z)", user_message, re.S | re.M)
    sentences = [(len(wanted & set(word_tokens(sentence))), -int(n), sentence.strip().rstrip("."))
                 for n, text in blocks for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " "))]
    overlap, negative_number, sentence = max(sentences, default=(0, 0, ""))
    return f"{sentence} [{-negative_number}]." if overlap else ABSTAIN_TEXT


def without_system_turn(messages: Messages) -> Messages:
    """The messages with a leading system turn folded into the first user turn.

    >>> without_system_turn([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}])
    [{'role': 'user', 'content': 'Be brief.\\n\\nWhy?'}]
    """
    system, first, *rest = messages
    return [{"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}, *rest]


def make_generator(spec: str, device: str = "auto", cache_dir: Path = Path(".rag-data/models"),
                   max_context: int = 4096, log: Callable[[str], None] = lambda message: None) -> Generator:
    """'fake' for the test generator; anything else is a transformers model spec."""
    if spec == "fake":
        return FakeGenerator()
    return TransformersGenerator(spec, device, cache_dir, max_context, log)
