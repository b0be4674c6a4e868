from __future__ import annotations

from dataclasses import dataclass

import pytest

from rag.check import CheckSettings, OverlapChecker, check_answer
from rag.claims import carry_note_citations, is_claim, literals, missing_literals
from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Chunk, Continuation, Judgement, Passage, Sentence

PORT = "Dredging of the main channel finished in September 2025 and deepened it to 16.5 metres. Spending was 212 million euros."
LIBRARY = "The Brindlewood Public Library was founded in 1874 by the merchant Amalia Korsgaard."


def _answer(*sentences: Sentence) -> Answer:
    passages = tuple(Passage(Chunk(f"c{i}", f"d{i}", 1, 0, len(t), t), 0.5) for i, t in enumerate([PORT, LIBRARY]))
    return Answer("q", " ".join(s.text for s in sentences), False, sentences, passages, "m")


@dataclass
class ScriptedChecker:
    """Returns fixed (supports, contradicts) per passage text; "does not say" is what they leave."""

    by_passage: dict[str, tuple[float, float]]

    @property
    def name(self) -> str:
        return "scripted"

    def judge(self, pairs):
        return [Judgement(*self.by_passage[passage]) for _, passage in pairs]


def test_literals_and_guard() -> None:
    assert literals("Sales rose 5.2% to $1,200 in 2023 under Tim Cook.") == ["5.2%", "1200", "2023", "Tim Cook"]
    assert missing_literals("It cost $212 million in 2025.", PORT) == []
    assert missing_literals("It cost 312 million euros.", PORT) == ["312"]
    assert missing_literals("It finished in Sept. 2025.", PORT) == []  # "Sept" is not a name to look for
    assert missing_literals("Work ended in September 2025.", "ended Sept 2025") == []
    assert missing_literals("Work ended in October 2025.", PORT) == ["October"]
    assert missing_literals("It ended in December 1998.", "It ended inDecember 1998.") == []
    assert missing_literals("It opened on June 8, 2019.", "opened on June 08, 2019") == []  # a day's leading zero
    assert missing_literals("Operating income decreased 5% [1].", "a change of -5% from 2024") == []  # signs dropped
    assert missing_literals("It fell by 12 [1].", "it fell by \u221212") == []  # the Unicode minus
    assert missing_literals("Sales increased 12% [1].", "sales increased 12 percent") == []
    assert missing_literals("Sales increased 12 per cent [1].", "up 12% on the year") == []
    assert not is_claim("In summary:") and not is_claim(ABSTAIN_TEXT) and is_claim("The channel is 16.5 m deep.")
    assert not is_claim("This information can be found in passages [2] and [1].")  # a note, nothing to check
    assert is_claim("This can be inferred from passage [1], which says the channel is 16.5 m deep.")


def test_verdicts_evidence_and_citation_correction() -> None:
    answer = _answer(Sentence("The main channel was deepened to 16.5 metres [1].", (1,)),
                     Sentence("The library was founded in 1874 [1].", (1,)),
                     Sentence("In summary:", ()))
    checked = check_answer(answer, OverlapChecker(), CheckSettings(threshold=0.6))
    first, second, third = checked.sentences
    assert first.verdict == "supported" and first.evidence.passage == 1
    assert PORT[first.evidence.start:first.evidence.end].startswith("Dredging of the main channel")
    assert second.verdict == "supported" and second.evidence.passage == 2
    assert "cited [1] does not support it; [2] does" in second.note
    assert third.verdict == "skipped" and not checked.abstained


def test_number_mismatch_lowers_a_supported_judgement_to_contradicted() -> None:
    answer = _answer(Sentence("The main channel was deepened to 14 metres [1].", (1,)))
    checker = ScriptedChecker({PORT: (0.9, 0.05), LIBRARY: (0.1, 0.1)})
    sentence = check_answer(answer, checker).sentences[0]
    assert sentence.verdict == "unsupported" and sentence.score < 0.5 and "14" in sentence.note
    contradicting = ScriptedChecker({PORT: (0.3, 0.6), LIBRARY: (0.1, 0.1)})
    assert check_answer(answer, contradicting).sentences[0].verdict == "contradicted"


def test_a_wordier_passage_without_the_claim_s_number_does_not_hide_the_one_with_it() -> None:
    has_it, lacks_it = "The library was founded in 1874.", "The Brindlewood library was founded in 1875 by Korsgaard."
    passages = tuple(Passage(Chunk(f"c{i}", f"d{i}", 1, 0, len(t), t), 0.5) for i, t in enumerate([has_it, lacks_it]))
    claim = Sentence("The library was founded in 1874 [2].", (2,))
    answer = Answer("q", claim.text, False, (claim,), passages, "m")
    checked = check_answer(answer, ScriptedChecker({has_it: (0.6, 0.1), lacks_it: (0.9, 0.05)})).sentences[0]
    assert checked.verdict == "supported" and checked.evidence.passage == 1 and "1874" not in checked.note
    assert "cited [2] does not support it; [1] does" in checked.note


@pytest.mark.parametrize("policy", ["flag", "strict"])
def test_policies(policy: str) -> None:
    answer = _answer(Sentence("The main channel was deepened to 16.5 metres [1].", (1,)),
                     Sentence("A cruise terminal opened downtown [1].", (1,)))
    checked = check_answer(answer, OverlapChecker(), CheckSettings(policy=policy, threshold=0.6))
    if policy == "flag":
        assert [s.verdict for s in checked.sentences] == ["supported", "unsupported"]
        assert checked.text == answer.text
    else:
        assert [s.verdict for s in checked.sentences] == ["supported"]
        assert "cruise" not in checked.text and "1 unsupported sentence removed" in checked.text
    assert check_answer(answer, OverlapChecker(), CheckSettings(policy="off")) == answer


def test_strict_removes_a_note_with_the_unsupported_claims_it_cited_for() -> None:
    from rag.claims import carry_note_citations

    answer = _answer(*carry_note_citations([
        Sentence("The main channel was deepened to 16.5 metres [1].", (1,)),
        Sentence("A cruise terminal opened downtown."), Sentence("This is stated in [1].", (1,))]))
    strict = check_answer(answer, OverlapChecker(), CheckSettings(policy="strict", threshold=0.6))
    assert [s.text for s in strict.sentences] == ["The main channel was deepened to 16.5 metres [1]."]
    assert strict.removed == 1 and "This is stated" not in strict.text  # the note went with its claim
    kept = _answer(*carry_note_citations([Sentence("The main channel was deepened to 16.5 metres."),
                                          Sentence("This is stated in [1].", (1,))]))
    assert len(check_answer(kept, OverlapChecker(), CheckSettings(policy="strict", threshold=0.6)).sentences) == 2


def test_an_answer_with_no_supported_claim_becomes_an_abstention() -> None:
    answer = _answer(Sentence("A cruise terminal opened downtown [1].", (1,)))
    flagged = check_answer(answer, OverlapChecker(), CheckSettings(threshold=0.6))
    assert flagged.abstained and flagged.sentences[0].verdict == "unsupported"
    strict = check_answer(answer, OverlapChecker(), CheckSettings(policy="strict", threshold=0.6))
    assert strict.abstained and strict.text == f"{ABSTAIN_TEXT} (1 unsupported sentence removed.)"
    assert strict.sentences == ()  # nothing dropped is shown


def _nli_model(folder, labels: list[str]):
    """A one-layer BERT classifier whose output ignores its input: the first label always gets 0.833."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rag.models import packaged_embedder_path

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, num_labels=3, id2label=dict(enumerate(labels)),
                        label2id={label: i for i, label in enumerate(labels)})
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([3.0, 0.7, 0.7]))  # softmax: 0.833, 0.084, 0.084
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(packaged_embedder_path()).save_pretrained(folder)
    return str(folder)


def test_nli_checker_reads_labels_from_a_local_model(tmp_path) -> None:
    from rag.check import NLIChecker

    entails = NLIChecker(_nli_model(tmp_path / "nli", ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]), device="cpu",
                         batch_size=2)
    scores = entails.judge([("The channel is 16.5 m deep.", PORT)] * 3 + [("Founded in 1874.", LIBRARY)])
    assert len(scores) == 4 and entails.name == "nli:nli" and all(j.weakest_gain is None for j in scores)
    assert all(j.support == pytest.approx(0.833, abs=1e-3) and j.contradict == pytest.approx(0.084, abs=1e-3)
               for j in scores)
    contradicts = NLIChecker(_nli_model(tmp_path / "nli2", ["contradiction", "entailment", "neutral"]), device="cpu")
    judged = contradicts.judge([("The channel is 16.5 m deep.", PORT)])[0]  # the same logits, read by label
    assert judged.contradict == pytest.approx(0.833, abs=1e-3) and judged.support == pytest.approx(0.084, abs=1e-3)


def test_label_roles_refuses_unknown_labels() -> None:
    from rag.check import label_roles

    with pytest.raises(ValueError, match="supported"):
        label_roles({0: "LABEL_0", 1: "LABEL_1"})


def test_a_trailing_note_cites_for_the_uncited_claims_before_it() -> None:
    from rag.types import Sentence

    sentences = [Sentence("Yes [1].", (1,)), Sentence("The channel is 16.5 m deep [1]."), Sentence("It opened in 2025."),
                 Sentence("Cranes arrived in May."), Sentence("This is stated in passages [2] and [3].", (2, 3))]
    sentences[1] = Sentence(sentences[1].text, (1,))
    carried = [s.citations for s in carry_note_citations(sentences)]
    assert carried == [(1,), (1,), (2, 3), (2, 3), (2, 3)]  # stops at the claim that cites for itself


@dataclass
class WordModel:
    """Stands in for the generator: each claim word scores -1 after a passage that has it, -5 after one that
    lacks it, and -2 without a passage; counts how often each claim is read without one."""

    read_alone: dict[str, int]

    name = "word-model"

    def warm_up(self) -> None:
        pass

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        return "\n".join(message["content"] for message in messages)

    def continuations(self, prefix: str, texts: list[str], tail: str, choices: list[str],
                      scored: bool = True) -> list[Continuation]:
        passage = prefix.split("Passage:\n", 1)[1].rsplit("\n\nClaim: ", 1)[0]
        for text in texts if not passage else []:
            self.read_alone[text] = self.read_alone.get(text, 0) + 1
        scores = [tuple(-2.0 if not passage else -1.0 if word in passage else -5.0 for word in text.split())
                  for text in texts]
        return [Continuation((0.6, 0.3, 0.1), score if scored else ()) for score in scores]


def test_judge_with_gain_pairs_each_claim_with_its_own_reading_alone() -> None:
    from rag.check import LLMJudge

    model = WordModel({})
    pairs = [("deepened 2025", PORT), ("founded 1874", LIBRARY), ("deepened 2025 [1]", LIBRARY), ("founded 1874", PORT)]
    judged = LLMJudge(model, measure_gain=True).judge(pairs)
    assert [j.weakest_gain for j in judged] == [1.0, 1.0, -3.0, -3.0]  # -1 - (-2) where present, -5 - (-2) where not
    assert model.read_alone == {"deepened 2025": 1, "founded 1874": 1}  # citations stripped; once per claim
    assert all(j.support == 0.6 and j.contradict == 0.3 for j in judged)
    assert LLMJudge(model).judge(pairs)[0].weakest_gain is None and model.read_alone["founded 1874"] == 1
    assert LLMJudge(model, measure_gain=True).name == "llm-judge:word-model+gain"
    quoting = "The judge's template marks the claim with <<CLAIM>>; founded 1874."  # a document quoting this code
    assert LLMJudge(model).judge([("founded 1874", quoting)])[0].support == 0.6
