"""Per-sentence fact checking of answers against their passages.

Checkers score (claim, passage) pairs as probabilities (supports, contradicts, does not say):
- ``LLMJudge``: the loaded decoder answers a one-letter multiple choice; scored from next-token
  probabilities, with each passage's prompt prefix computed once and the claims judged against it
  together, up to 8 per forward pass (rag/generate.py ``continuations``). The ``judge+gain`` variant also
  takes from that pass the log-probability of each claim token after the passage and reads the claim once
  more without a passage, to find the token the passage helps least (``weakest_gain``): a detail that
  conflicts with the passage is far less likely after it. Measured on BEGIN, HaluEval and WiCE, it is not
  the default (README).
- ``OverlapChecker``: word overlap; deterministic and free, for tests and as a fallback.
The checker's judgement is then calibrated (rag/calibration.py: its support combined with word overlap
and, for ``judge+gain``, the weakest gain; thresholded as fitted on BEGIN dev), and a lexical guard
lowers the score of a claim whose numbers or names are missing from its evidence.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, Sequence

from rag.calibration import Calibration, calibration_for
from rag.citations import strip_citations
from rag.claims import EMPTY_ANSWER_NOTE, best_span, is_claim, missing_literals, word_overlap
from rag.prompts import ABSTAIN_TEXT
from rag.protocols import JudgeModel
from rag.types import Answer, Continuation, Evidence, Judgement, Passage, Sentence, Verdict

POLICIES = ("flag", "strict", "regenerate", "off")  # regenerate: the pipeline retries once
CHOICES = ("A", "B", "C")  # supports, contradicts, does not say
_CLAIM_MARK = "<<CLAIM>>"
JUDGE_SYSTEM = (  # spelling out "everything ... possibly in other words" lifted WiCE AUC 0.73 -> 0.85 (README)
    "You check whether a claim is supported by a source passage. Reply with one letter:\n"
    "A - supported: everything the claim says is stated in the passage, possibly in other words\n"
    "B - contradicted: the passage states something that makes the claim false\n"
    "C - not enough information: some part of the claim is not in the passage"
)


class Checker(Protocol):
    @property
    def name(self) -> str: ...

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        """A judgement of each (claim, passage) pair."""
        ...


@dataclass
class OverlapChecker:
    """Support = share of the claim's content words in the passage; never says 'contradicts'."""

    @property
    def name(self) -> str:
        return "overlap"

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        return [Judgement(overlap, 0.0) for overlap in (word_overlap(c, p) for c, p in pairs)]


@dataclass
class LLMJudge:
    """The answering decoder as a judge (no second model in memory): a TransformersGenerator. With
    ``measure_gain`` it also reads the claims without a passage and reports each claim's weakest gain
    (the ``judge+gain`` checker, calibrated on it separately)."""

    generator: JudgeModel
    measure_gain: bool = False

    @property
    def name(self) -> str:
        """Names the loaded model (so it loads it): the calibrated threshold is stored under this name."""
        self.generator.warm_up()
        return f"llm-judge:{self.generator.name}{'+gain' if self.measure_gain else ''}"

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        claims = [strip_citations(claim) for claim, _ in pairs]
        alone = self._read_alone(claims) if self.measure_gain else {}
        by_passage: dict[str, list[int]] = {}
        for index, (_, passage) in enumerate(pairs):
            by_passage.setdefault(passage, []).append(index)
        judgements: list[Judgement] = [Judgement(0.0, 0.0)] * len(pairs)
        for passage, indices in by_passage.items():
            for i, run in zip(indices, self._read(passage, [claims[i] for i in indices])):
                read_alone = alone.get(claims[i])
                gain = weakest_gain(run.token_log_probs, read_alone.token_log_probs) if read_alone else None
                judgements[i] = Judgement(run.choices[0], run.choices[1], weakest_gain=gain)  # A, B; C is what they leave
        return judgements

    def _read_alone(self, claims: list[str]) -> dict[str, Continuation]:
        """Each distinct claim read without a passage (the baseline of its gain)."""
        unique = list(dict.fromkeys(claims))
        return dict(zip(unique, self._read("", unique)))

    def _read(self, passage: str, claims: list[str]) -> list[Continuation]:
        """The judge's prompt run on each claim after this passage ("" reads the claims alone)."""
        prefix, tail = self._template(passage)
        return self.generator.continuations(prefix, claims, tail, list(CHOICES), scored=self.measure_gain)

    def _template(self, passage: str) -> tuple[str, str]:
        messages = [{"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": f"Passage:\n{passage}\n\nClaim: {_CLAIM_MARK}"}]
        prefix, tail = self.generator.render_chat(messages).rsplit(_CLAIM_MARK, 1)  # a passage may hold the mark
        return prefix, tail


def weakest_gain(with_passage: Sequence[float], alone: Sequence[float]) -> float:
    """How much the passage raises the log-probability of the claim token it helps least (the lowest
    pointwise mutual information of a token with the passage). Far below 0 when the passage makes some
    token much less likely than it was without it: a detail that conflicts with the passage (another
    number, date or name). Material the passage does not mention stays near 0: it is as unlikely with the
    passage as without. 0.0 for an empty claim.

    >>> weakest_gain([-0.1, -0.2, -3.0], [-2.0, -0.3, -0.5])
    -2.5
    """
    return min((a - b for a, b in zip(with_passage, alone, strict=True)), default=0.0)


@dataclass(frozen=True)
class CheckSettings:
    policy: str = "flag"
    threshold: float | None = None  # calibrated score at or above which a claim is supported; None = the stored one
    contradiction_overlap: float = 0.5  # 'contradicts' needs this much shared wording, else 'unsupported'


def calibration_in_use(checker: Checker, settings: CheckSettings) -> Calibration:
    """The checker's stored calibration, with the threshold of the settings when one is set (it applies to
    the calibrated score: the stored weights are kept)."""
    stored = calibration_for(checker.name)
    return stored if settings.threshold is None else replace(stored, threshold=settings.threshold)


def check_answer(answer: Answer, checker: Checker, settings: CheckSettings = CheckSettings()) -> Answer:
    """Give every claim of the answer a verdict, evidence span and note; apply the policy."""
    if settings.policy == "off" or answer.abstained or not answer.passages:
        return answer
    calibration = calibration_in_use(checker, settings)
    settings = replace(settings, threshold=calibration.threshold)
    texts = [passage.text for passage in answer.passages]
    plans = [_candidates(s, texts) if is_claim(s.text) else [] for s in answer.sentences]
    pairs = [(s.text, texts[n - 1]) for s, plan in zip(answer.sentences, plans) for n in plan]
    judgements = iter(checker.judge(pairs))
    sentences = tuple(_judged(s, plan, [next(judgements) for _ in plan], answer.passages, calibration, settings) if plan
                      else replace(s, verdict="skipped") for s, plan in zip(answer.sentences, plans))
    return _apply_policy(replace(answer, sentences=sentences), settings.policy)


def _candidates(sentence: Sentence, texts: list[str]) -> list[int]:
    """Passages to check a claim against: those it cites and the best-overlapping other one."""
    ranked = sorted(range(1, len(texts) + 1), key=lambda n: -word_overlap(sentence.text, texts[n - 1]))
    extra = [n for n in ranked if n not in sentence.citations][:1]
    return list(sentence.citations) + extra


def _judged(sentence: Sentence, plan: list[int], judgements: list[Judgement],
            passages: Sequence[Passage], calibration: Calibration, settings: CheckSettings) -> Sentence:
    """The verdict from the passage with the best support after the lexical guard (a passage that scores
    higher but lacks the claim's number must not hide one that has it)."""
    guarded = [_guarded(sentence.text, passages[n - 1], calibration.score(sentence.text, passages[n - 1].text, judged),
                        settings.threshold) for n, judged in zip(plan, judgements)]
    best = max(range(len(plan)), key=lambda i: guarded[i][0])
    number, judged, (support, missing) = plan[best], judgements[best], guarded[best]
    evidence_text = passages[number - 1].text
    verdict = _label(sentence.text, evidence_text, support, judged.contradict > judged.support, settings)
    start, end = best_span(sentence.text, evidence_text)
    note = _note(sentence, number, verdict.label, missing)
    return replace(sentence, verdict=verdict.label, score=round(support, 4),
                   evidence=Evidence(number, start, end), note=note)


def _guarded(claim: str, passage: Passage, calibrated: float, threshold: float) -> tuple[float, list[str]]:
    """The lexical guard over a passage and its document's name (names from the title count)."""
    return guarded_support(claim, f"{passage.text}\n{document_label(passage.doc)}", calibrated, threshold)


def document_label(doc: str) -> str:
    """A document's file name as words: a passage on page 2 of the Valmara report may say "the port".

    >>> document_label("/data/valmara-port_annual-report-2025.pdf")
    'valmara port annual report 2025'
    """
    return re.sub(r"[-_.]+", " ", Path(doc).stem).strip()


def guarded_support(claim: str, evidence: str, support: float, threshold: float) -> tuple[float, list[str]]:
    """The lexical guard: a claim whose numbers or names are missing from its evidence scores below the
    threshold whatever the checker said. Returns (support, the missing literals).

    >>> guarded_support("It opened in 1874.", "It opened in 1875.", 0.9, 0.5)
    (0.45, ['1874'])
    """
    missing = missing_literals(claim, evidence)
    return (min(support, threshold * 0.9) if missing else support), missing


def _label(claim: str, evidence: str, support: float, judged_contradicted: bool, settings: CheckSettings) -> Verdict:
    """judged_contradicted: the checker found 'contradicts' likelier than 'supports'."""
    if support >= settings.threshold:
        return Verdict("supported", support)
    if judged_contradicted and word_overlap(claim, evidence) >= settings.contradiction_overlap:
        return Verdict("contradicted", support)
    return Verdict("unsupported", support)


def _note(sentence: Sentence, number: int, label: str, missing: list[str]) -> str:
    notes = []
    if label == "supported" and sentence.citations and number not in sentence.citations:
        cited = "".join(f"[{n}]" for n in sentence.citations)
        notes.append(f"cited {cited} does not support it; [{number}] does")
    if missing:
        notes.append("not in the evidence: " + ", ".join(missing))
    return "; ".join(notes)


NOT_CHECKED = ("skipped", "unchecked")  # verdicts of sentences that are not judged claims


def _apply_policy(answer: Answer, policy: str) -> Answer:
    claims = [s for s in answer.sentences if s.verdict not in NOT_CHECKED]
    refused = bool(claims) and not any(s.verdict == "supported" for s in claims)
    if policy != "strict":
        return replace(answer, abstained=True) if refused else answer
    orphans = _orphaned_notes(answer.sentences)
    kept = () if refused else tuple(s for i, s in enumerate(answer.sentences)
                                    if s.verdict == "supported" or (s.verdict == "skipped" and i not in orphans))
    dropped = len(claims) if refused else len(answer.sentences) - len(kept) - len(orphans)
    text = ABSTAIN_TEXT if refused else " ".join(s.text for s in kept)
    if dropped:
        text += f" ({dropped} unsupported sentence{'s' if dropped > 1 else ''} removed.)"
    return replace(answer, sentences=kept, text=text, abstained=answer.abstained or refused, removed=dropped)


def _orphaned_notes(sentences: Sequence[Sentence]) -> set[int]:
    """Indexes of notes ("This is stated in [2].") whose citations went to the claims just before them
    (rag.claims.carry_note_citations) when none of those claims is supported: strict removes them too."""
    orphans = set()
    for index, note in enumerate(sentences):
        if note.verdict == "skipped" and note.citations:
            run = list(itertools.takewhile(lambda s: _carried(s, note), reversed(sentences[:index])))
            if run and not any(s.verdict == "supported" for s in run):
                orphans.add(index)
    return orphans


def _carried(claim: Sentence, note: Sentence) -> bool:
    """Whether the claim cites only what a note after it gave it (it has no [n] of its own)."""
    return claim.verdict not in NOT_CHECKED and claim.citations == note.citations \
        and strip_citations(claim.text) == claim.text.strip()


NO_SUPPORT_NOTE = "No sentence is supported by the sources."


def answer_notes(answer: Answer) -> list[str]:
    """What a rendering of the answer's sentences must add: that the model said nothing, that the checker
    found no claim supported, or how many unsupported sentences the strict policy removed."""
    notes = [] if answer.text.strip() else [EMPTY_ANSWER_NOTE]
    if answer.abstained and any(s.verdict in ("unsupported", "contradicted") for s in answer.sentences):
        notes.append(NO_SUPPORT_NOTE)  # not said of a plain refusal, whose sentences are not claims
    if answer.removed and answer.sentences:  # with no sentence kept, the text is the refusal and says it
        notes.append(f"{answer.removed} unsupported sentence{'s' if answer.removed > 1 else ''} removed.")
    return notes


_SUPPORT_LABELS = ("entail", "support", "consistent", "factual")
_CONTRADICT_LABELS = ("contradict", "refute", "hallucinat", "inconsistent")


def label_roles(id2label: dict[int, str]) -> tuple[list[int], list[int]]:
    """(support label ids, contradiction label ids) of an NLI model's labels; the rest mean 'does not say'.

    >>> label_roles({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"})
    ([0], [2])
    >>> label_roles({0: "not_entailment", 1: "entailment"})
    ([1], [])
    """
    names = {int(i): str(label).lower() for i, label in id2label.items()}
    support = [i for i, n in names.items() if n.startswith(_SUPPORT_LABELS) and not n.startswith("not")]
    contradict = [i for i, n in names.items() if n.startswith(_CONTRADICT_LABELS)]
    if not support:
        raise ValueError(f"cannot tell which label means 'supported' among {sorted(names.values())}")
    return support, contradict


@dataclass
class NLIChecker:
    """A local Hugging Face sequence-classification NLI / fact-check model (DeBERTa-MNLI, MiniCheck
    style): premise = passage, hypothesis = claim, labels read from the model's config."""

    location: str
    device: str = "auto"
    batch_size: int = 16
    _model: object = None
    _tokenizer: object = None

    @property
    def name(self) -> str:
        return f"nli:{Path(self.location).name}"

    def warm_up(self) -> None:
        if self._model is None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            from rag.embedders import quiet_transformers, resolve_device

            quiet_transformers()
            self._tokenizer = AutoTokenizer.from_pretrained(self.location)
            self._model = AutoModelForSequenceClassification.from_pretrained(self.location).to(
                resolve_device(self.device)).eval()

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        import torch

        self.warm_up()
        support, contradict = label_roles(self._model.config.id2label)  # type: ignore[attr-defined]
        judgements: list[Judgement] = []
        for start in range(0, len(pairs), self.batch_size):
            batch = pairs[start:start + self.batch_size]
            inputs = self._tokenizer([p for _, p in batch], [strip_citations(c) for c, _ in batch],  # type: ignore[operator]
                                     truncation="only_first", max_length=512, padding=True, return_tensors="pt")
            with torch.inference_mode():
                logits = self._model(**inputs.to(self._model.device)).logits  # type: ignore[attr-defined]
            for row in torch.softmax(logits.float(), dim=-1).tolist():
                yes, no = sum(row[i] for i in support), sum(row[i] for i in contradict)
                judgements.append(Judgement(yes, no))
        return judgements
