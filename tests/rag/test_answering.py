from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from ingest.runners import SerialRunner
from rag.citations import citations, split_sentences
from rag.claims import abstains
from rag.cli import main
from rag.config import Settings
from rag.conversation import Turn, standalone_question
from rag.embedders import HashEmbedder, WordCounter
from rag.generate import FakeGenerator
from rag.langchain import as_langchain_retriever
from rag.pipeline import AskOptions, Pipeline
from rag.prompts import ABSTAIN_TEXT, build_prompt
from rag.retrieve import Retriever
from rag.types import Answer, Chunk, GenerationOptions, Passage


def _passage(n: int, words: int = 50) -> Passage:
    return Passage(Chunk(f"c{n}", f"/docs/d{n}.pdf", n, 0, 10, " ".join(f"w{n}x{i}" for i in range(words))), 1.0 / n)


def test_prompt_numbers_passages_and_respects_the_budget() -> None:
    count = WordCounter()
    passages = [_passage(n) for n in range(1, 6)]
    roomy = build_prompt("What is w1x3?", passages, 10_000, count)
    assert len(roomy.passages) == 5 and "[5] (d5.pdf, page 5)" in roomy.messages[1]["content"]
    assert ABSTAIN_TEXT in roomy.messages[0]["content"]
    tight = build_prompt("What is w1x3?", passages, 250, count)
    assert 1 <= len(tight.passages) < 5
    assert sum(count(m["content"]) for m in tight.messages) <= 250
    assert tight.passages[:-1] == tuple(passages[: len(tight.passages) - 1])
    cut = [prompt for prompt in (build_prompt("What is w1x3?", passages, budget, count) for budget in range(200, 400, 7))
           if prompt.passages[-1] != passages[len(prompt.passages) - 1]]
    assert cut, "no budget cut a passage"
    for prompt in cut:  # the last passage cut to fit: the checker and the source cards get the text shown
        last, whole = prompt.passages[-1], passages[len(prompt.passages) - 1]
        assert whole.text.startswith(last.text) and f"{last.text} ...\n\nQuestion:" in prompt.messages[1]["content"]
        assert last.chunk.end - last.chunk.start == len(last.text) and last.score == whole.score


def test_sentences_citations_and_abstention() -> None:
    text = "The channel is 16.5 metres deep [1]. Cranes lift 65 tonnes. [2][7]\n- Rail opens in 2027 [3, 1]."
    sentences = split_sentences(text)
    assert sentences == ["The channel is 16.5 metres deep [1].", "Cranes lift 65 tonnes. [2][7]", "- Rail opens in 2027 [3, 1]."]
    assert [citations(s, 3) for s in sentences] == [(1,), (2,), (3, 1)]
    assert split_sentences("Sales rose 5% [1]. \u201cStrong demand\u201d drove it [2].") == \
        ["Sales rose 5% [1].", "\u201cStrong demand\u201d drove it [2]."]  # curly quotes open or close a sentence
    assert split_sentences("It was \u201ca record year.\u201d Revenue rose 5% [1].")[1] == "Revenue rose 5% [1]."
    assert split_sentences("1. Sales rose 5% [1].\n2. Costs fell [2].") == ["1. Sales rose 5% [1].", "2. Costs fell [2]."]
    assert abstains([ABSTAIN_TEXT]) and abstains(["The passages do not mention it."])
    assert not abstains(["The passages do not mention the date, but cranes lift 65 t [1]."])
    assert not abstains(split_sentences(f"{ABSTAIN_TEXT[:-1]} for part one. Cranes lift 90 t [1]."))  # checked


def test_a_refusal_beside_a_claim_in_one_sentence_does_not_hide_the_claim() -> None:
    from rag.claims import is_claim

    mixed = "It handled 4.2 million TEU, though the passages do not state the 2026 figure."
    assert is_claim(mixed) and not abstains([mixed])  # checked, not skipped as a refusal
    for sentence in ("Revenue rose 6% to $1.2 billion [1], but the documents do not contain the answer for 2026.",
                     "While the passages do not mention 2026, the port handled 4.2 million TEU in 2025."):
        assert is_claim(sentence) and not abstains([sentence])
    assert abstains(["Based on the provided passages, there is no information about the dose."])
    assert is_claim("The trial provided no information on dosing.")  # about the trial, not the passages
    assert not is_claim("There is no information about the dose.") and abstains(["No information is provided about it."])
    assert split_sentences("The answer is no. The study found lower mortality [1]. See No. 5.") == \
        ["The answer is no.", "The study found lower mortality [1].", "See No. 5."]


def test_an_empty_answer_is_an_abstention(settings: Settings, sample_copy: Path) -> None:
    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    pipeline = Pipeline(Retriever.open(settings, HashEmbedder()), FakeGenerator(reply=lambda messages: "  "))
    answer = pipeline.answer("main channel dredging deepened metres", AskOptions(k=2))
    assert answer.abstained and answer.text == "" and answer.sentences == ()  # the model ended at once
    pipeline.close()


def test_a_question_that_leaves_no_room_for_passages_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(ValueError, match="question is too long"):
        pipeline.answer("Korsgaard map collection maps " * 2000)
    window = pipeline.generator.context_window
    with pytest.raises(ValueError, match=rf"an answer of up to {window} tokens \(--max-new-tokens\) leaves no room for a prompt"):
        pipeline.answer("How deep is the main channel?", AskOptions(generation=GenerationOptions(max_new_tokens=window)))


def test_an_answer_that_also_refuses_is_still_checked(settings: Settings, sample_copy: Path) -> None:
    from rag.check import CheckSettings, OverlapChecker

    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    reply = "The documents do not contain the answer for the cruise terminal. Dredging deepened the main channel to 90 metres [1]."
    pipeline = Pipeline(Retriever.open(settings, HashEmbedder()), FakeGenerator(reply=lambda messages: reply),
                        OverlapChecker())
    answer = pipeline.answer("main channel dredging deepened metres", AskOptions(k=2, check=CheckSettings(threshold=0.6)))
    assert [s.verdict for s in answer.sentences] == ["skipped", "unsupported"]  # 90 m is not in the report
    pipeline.close()


@pytest.fixture
def pipeline(settings: Settings, sample_copy: Path):
    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    opened = Pipeline(Retriever.open(settings, HashEmbedder()), FakeGenerator())
    yield opened
    opened.close()


def test_streamed_answer_cites_the_page(pipeline: Pipeline) -> None:
    stream = pipeline.stream("How deep is the main channel after dredging?", AskOptions(k=3))
    pieces = list(stream)
    answer = stream.result()
    assert stream.result() is answer  # checked once, however often asked
    assert len(pieces) > 3 and "".join(pieces).strip() == answer.text
    assert "16.5 metres" in answer.text and not answer.abstained
    cited = answer.passages[answer.sentences[0].citations[0] - 1]
    assert Path(cited.doc).name == "valmara-port-annual-report-2025.pdf" and cited.page == 2
    assert set(answer.timings_ms) == {"retrieve", "first_token", "generate", "check", "total"}


def test_unanswerable_question_is_abstained(pipeline: Pipeline) -> None:
    answer = pipeline.answer("Who won the football world cup in 1998?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT


def test_max_new_tokens_and_document_filter_reach_the_generator(pipeline: Pipeline) -> None:
    options = AskOptions(k=2, docs=("helios-h2-battery-faq.md",), generation=GenerationOptions(max_new_tokens=3))
    answer = pipeline.answer("How heavy is the Helios H2 battery unit?", options)
    assert len(answer.text.split()) == 3
    assert {Path(p.doc).name for p in answer.passages} == {"helios-h2-battery-faq.md"}
    assert "helios-h2-battery-faq.md" in pipeline.generator.calls[-1][1]["content"]


def test_langchain_adapter(pipeline: Pipeline) -> None:
    documents = as_langchain_retriever(pipeline.retriever, k=2).invoke("Korsgaard map collection")
    assert len(documents) == 2 and "3,400" in documents[0].page_content
    assert documents[0].metadata["doc"].endswith(".html") and documents[0].metadata["page"] == 1


def test_cli_ask_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path) -> None:
    base = ["--data-dir", str(tmp_path), "--embedder", "hash"]
    assert main([*base, "ingest", str(sample_copy), "--json"]) == 0
    capsys.readouterr()
    assert main([*base, "ask", "Korsgaard map collection maps", "--model", "fake", "--json", "-k", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"question", "answer", "abstained", "sentences", "passages", "model", "timings_ms", "removed"}
    assert "3,400" in result["answer"] and result["sentences"][0]["verdict"] == "supported"
    evidence = result["sentences"][0]["evidence"]
    assert set(evidence) == {"passage", "start", "end"} and evidence["passage"] == 1
    assert "3,400" in result["passages"][0]["text"][evidence["start"]:evidence["end"]]
    assert result["passages"][0]["n"] == 1 and result["model"] == "fake"
    assert main([*base, "ask", "Korsgaard map collection maps", "--model", "fake"]) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out and "✓ supported" in out


def test_cli_ask_says_when_the_model_gave_no_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.pipeline.make_generator", lambda *args, **kwargs: FakeGenerator(reply=lambda m: ""))
    base = ["--data-dir", str(tmp_path), "--embedder", "hash"]
    assert main([*base, "ingest", str(sample_copy), "--json"]) == 0
    capsys.readouterr()
    assert main([*base, "ask", "Korsgaard map collection maps", "--model", "fake"]) == 0
    assert "The model gave no answer" in capsys.readouterr().out


def test_cli_ask_shows_what_the_strict_check_left_after_the_streamed_draft(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    draft = "The Korsgaard collection holds 3,400 maps [1]. Penguins pilot the reading room airships [1]."
    monkeypatch.setattr("rag.pipeline.make_generator", lambda *args, **kwargs: FakeGenerator(reply=lambda m: draft))
    base = ["--data-dir", str(tmp_path), "--embedder", "hash"]
    assert main([*base, "ingest", str(sample_copy), "--json"]) == 0
    capsys.readouterr()
    assert main([*base, "ask", "Korsgaard map collection maps", "--model", "fake", "--check-policy", "strict"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(draft)  # streamed as generated
    after = out.split("Checked answer (strict):\n", 1)[1]
    assert after.startswith("The Korsgaard collection holds 3,400 maps [1]. (1 unsupported sentence removed.)")
    assert "Penguins" not in after
    assert main([*base, "ask", "Korsgaard map collection maps", "--model", "fake"]) == 0
    assert "Checked answer" not in capsys.readouterr().out  # the flag policy leaves the draft as it is


def test_regenerate_policy_keeps_the_better_supported_answer(settings: Settings, sample_copy: Path) -> None:
    from rag.check import CheckSettings, OverlapChecker

    ingest_paths([sample_copy], settings, embedder=HashEmbedder(), runner=SerialRunner(),
                 options=IngestOptions(progress=False))
    replies = iter(["A cruise terminal opened downtown in 2025 [1].",
                    "Dredging deepened the main channel to 16.5 metres [1]."])
    generator = FakeGenerator(reply=lambda messages: next(replies))

    class SlowChecker(OverlapChecker):
        def judge(self, pairs):
            time.sleep(0.1)
            return super().judge(pairs)

    pipeline = Pipeline(Retriever.open(settings, HashEmbedder()), generator, SlowChecker())
    options = AskOptions(k=2, check=CheckSettings(policy="regenerate", threshold=0.6))
    answer = pipeline.answer("main channel dredging deepened metres", options)
    assert "16.5 metres" in answer.text and answer.sentences[0].verdict == "supported"
    timings = answer.timings_ms  # both checks count as checking, not generating
    assert timings["check"] >= 200 and timings["generate"] < timings["check"] / 2
    retry_request = generator.calls[-1][-1]["content"]
    assert "not supported" in retry_request and "cruise terminal" in retry_request
    pipeline.close()


def test_module_answer_reuses_one_generator_across_collections(settings: Settings, sample_copy: Path) -> None:
    from rag import pipeline as module

    for name in ("one", "two"):
        ingest_paths([sample_copy], settings.with_overrides(collection=name), embedder=HashEmbedder(),
                     runner=SerialRunner(), options=IngestOptions(progress=False))
    first = module.answer("Korsgaard map collection maps", "one", settings=settings)
    second = module.answer("Korsgaard map collection maps", "two", settings=settings)
    assert "3,400" in first.text and first.text == second.text
    pipelines = [p for s, p in module._PIPELINES.items() if s.data_dir == settings.data_dir]
    assert len(pipelines) == 2 and pipelines[0].generator is pipelines[1].generator


def _turn(typed: str, searched: str) -> Turn:
    return Turn(typed, Answer(searched, "The library holds 3,400 maps [1].", False, (), (), "fake"))


def test_follow_ups_are_rewritten_and_failed_rewrites_do_not_pile_up() -> None:
    rewriting = FakeGenerator(reply=lambda messages: "When was the Brindlewood library founded?")
    first = _turn("How many maps does the Brindlewood library hold?", "How many maps does the Brindlewood library hold?")
    assert standalone_question("When was it founded?", [first], rewriting) == "When was the Brindlewood library founded?"
    assert standalone_question("Who founded the Brindlewood library?", [first], rewriting) == \
        "Who founded the Brindlewood library?" and len(rewriting.calls) == 1  # stands alone: no rewrite
    failing = FakeGenerator(reply=lambda messages: ABSTAIN_TEXT)
    second = _turn("And it?", f"{first.question} And it?")  # an earlier failed rewrite
    assert standalone_question("Who runs it?", [first, second], failing) == f"{first.question} Who runs it?"
    rewritten = _turn("And its founder?", "Who founded the Brindlewood library?")  # a good rewrite is the anchor
    assert standalone_question("How old was she?", [first, rewritten, second], failing) == \
        "Who founded the Brindlewood library? How old was she?"
    asking = FakeGenerator(reply=lambda messages: "Which fees are not specified in the Brindlewood library rules?")
    assert standalone_question("Which fees does it not specify?", [first], asking) == \
        "Which fees are not specified in the Brindlewood library rules?"  # a question, not a refusal
    unsure = FakeGenerator(reply=lambda messages: "It cannot be determined from the conversation.")
    assert standalone_question("When was it founded?", [first], unsure) == f"{first.question} When was it founded?"


def test_a_long_question_or_a_window_too_small_skips_the_rewrite() -> None:
    from dataclasses import dataclass

    @dataclass
    class TinyWindow(FakeGenerator):
        @property
        def context_window(self) -> int:
            return 60

    first = _turn("How many maps does the Brindlewood library hold?", "How many maps does the Brindlewood library hold?")
    rewriting = TinyWindow(reply=lambda messages: "When was the Brindlewood library founded?")
    pasted = "Does this paragraph agree with it: " + "the library was founded long ago and it grew " * 8
    assert standalone_question(pasted, [first], rewriting) == pasted and rewriting.calls == []  # it stands alone
    assert standalone_question("When was it founded?", [first] * 3, rewriting) == f"{first.question} When was it founded?"
    assert rewriting.calls == []  # the rewrite prompt would not fit beside its 64 new tokens


def test_bad_settings_and_options_are_usage_errors_before_anything_runs(capsys: pytest.CaptureFixture[str],
                                                                        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "2k")
    assert main(["--data-dir", str(tmp_path), "ingest", str(tmp_path)]) == 2
    assert "RAG_CHUNK_TOKENS='2k' is not an integer" in capsys.readouterr().err
    monkeypatch.delenv("RAG_CHUNK_TOKENS")
    assert main(["--data-dir", str(tmp_path), "--device", "gpu", "ingest", str(tmp_path), "--chunk-tokens", "0"]) == 2
    error = capsys.readouterr().err
    assert "chunk tokens must be at least 8" in error and "device must be auto, cpu" in error
    assert not (tmp_path / "collections").exists()  # no collection was created with the bad chunking
    with pytest.raises(SystemExit):
        main(["search", "maps", "-k", "-1"])
    assert "must be 1 or more, not -1" in capsys.readouterr().err
