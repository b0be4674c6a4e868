"""The real packaged default generator (Qwen2.5-Coder-1.5B-Instruct) over the real sample documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.check import LLMJudge
from rag.config import Settings
from rag.pipeline import AskOptions, open_pipeline


@pytest.fixture(scope="module")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import MODELS_DIR, SAMPLE_DIR
    from rag.config import load_settings

    settings: Settings = load_settings({}, data_dir=tmp_path_factory.mktemp("data"), embedder="packaged",
                                       model="default", models_dir=MODELS_DIR)
    ingest_paths([SAMPLE_DIR], settings, options=IngestOptions(progress=False))
    pipeline = open_pipeline(settings)
    yield pipeline
    pipeline.close()


@pytest.mark.slow
def test_answer_contains_the_fact_and_cites_its_page(real_pipeline) -> None:
    answer = real_pipeline.answer("How deep is the main channel of the Port of Valmara after the dredging?",
                                  AskOptions(k=3))
    assert "16.5" in answer.text and not answer.abstained, answer.text
    cited = {(Path(answer.passages[n - 1].doc).name, answer.passages[n - 1].page)
             for sentence in answer.sentences for n in sentence.citations}
    assert ("valmara-port-annual-report-2025.pdf", 2) in cited, answer


@pytest.mark.slow
def test_question_outside_the_documents_is_abstained(real_pipeline) -> None:
    answer = real_pipeline.answer("Who won the 1998 football world cup?", AskOptions(k=3))
    assert answer.abstained, answer.text


@pytest.mark.slow
def test_checker_tells_supported_contradicted_and_unsupported(real_pipeline) -> None:
    from rag.check import check_answer
    from rag.types import Answer, Chunk, Passage, Sentence

    port = ("Dredging of the main channel finished in September 2025 and deepened it to 16.5 metres, so the "
            "largest container ships can now call at any tide. Capital spending in 2025 was 212 million euros.")
    library = "The Brindlewood Public Library was founded in 1874 by the merchant Amalia Korsgaard."
    passages = tuple(Passage(Chunk(f"c{i}", f"d{i}", 1, 0, len(t), t), 0.5) for i, t in enumerate([port, library]))
    claims = ("The main channel was deepened to 16.5 metres [1].", "The main channel was deepened to 14 metres [1].",
              "The port opened a new cruise terminal in 2025 [1].", "The library was founded in 1874 [1].")
    answer = Answer("q", " ".join(claims), False, tuple(Sentence(c, (1,)) for c in claims), passages, "m")
    checked = check_answer(answer, real_pipeline.checker)
    assert [s.verdict for s in checked.sentences] == ["supported", "contradicted", "unsupported", "supported"]
    assert checked.sentences[3].evidence.passage == 2 and "[2] does" in checked.sentences[3].note
    assert port[checked.sentences[0].evidence.start:checked.sentences[0].evidence.end].find("16.5 metres") >= 0


@pytest.mark.slow
def test_judging_claims_together_matches_one_at_a_time(real_pipeline) -> None:
    from rag.check import CHOICES

    judge, generator = real_pipeline.checker, real_pipeline.generator
    prefix, tail = judge._template("Dredging of the main channel finished in September 2025 and deepened it to "
                                   "16.5 metres. Capital spending in 2025 was 212 million euros.")
    claims = ["The channel is 16.5 metres deep.", "Spending was 212 million euros in 2025, mostly on dredging the "
              "main channel.", "It rained."]
    together = [run.choices for run in generator.continuations(prefix, claims, tail, list(CHOICES), batch_size=2,
                                                                scored=False)]  # the default judge's path
    alone = [run.choices for run in generator.continuations(prefix, claims, tail, list(CHOICES), batch_size=1,
                                                             scored=False)]
    assert max(abs(a - b) for r1, r2 in zip(together, alone) for a, b in zip(r1, r2)) < 0.05  # bf16: up to 0.03 seen
    assert [row.index(max(row)) for row in together] == [row.index(max(row)) for row in alone]


@pytest.mark.slow
def test_weakest_gain_flags_a_detail_the_passage_makes_unlikely(real_pipeline) -> None:
    passage = ("Dredging of the main channel finished in September 2025 and deepened it to 16.5 metres. "
               "Capital spending in 2025 was 212 million euros.")
    pairs = [(claim, passage) for claim in ("The channel was deepened to 16.5 metres in 2025.",
                                            "The channel was deepened to 12 metres in 2025.",
                                            "The channel was deepened to 16.5 metres in 1998.")]
    copied, other_depth, other_year = LLMJudge(real_pipeline.generator, measure_gain=True).judge(pairs)
    assert copied.weakest_gain is not None and other_depth.weakest_gain is not None and other_year.weakest_gain is not None
    assert copied.weakest_gain > max(other_depth.weakest_gain, other_year.weakest_gain) + 2.0  # seen: -0.3 vs -3.8, -5.1
    default = real_pipeline.checker.judge(pairs)  # the default judge does not read the claims alone
    assert [j.weakest_gain for j in default] == [None, None, None]
    supports = [copied.support, other_depth.support, other_year.support]  # the same pass, but bf16 logits of
    assert [j.support for j in default] == pytest.approx(supports, abs=0.02)  # every position, not the last only
