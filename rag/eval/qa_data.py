"""Question-answering datasets over ../shared/eval-data (or RAG_EVAL_DATA), and a generic JSONL format.

Each adapter returns the questions and the folder of documents to index. Datasets whose documents are
records (PubMedQA abstracts, CLAP NQ passages, HaluEval knowledge) get one text file per document written
under DATA_DIR/eval-corpora/<dataset>/ (once); gold documents are named by those file names.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from rag.eval.ragas import REFERENCE_FROM


LABELS = ("yes", "no", "maybe")  # PubMedQA's, and a JSONL dataset's "label"


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...] = ()  # short answers: exact match and token F1
    reference: str | None = None  # a long reference answer: ROUGE-L
    gold_docs: tuple[str, ...] = ()  # file names of the documents that answer it: recall@k, MRR
    label: str | None = None  # yes / no / maybe (PubMedQA): label accuracy
    answerable: bool = True  # False: the right response is to abstain
    other_references: tuple[str, ...] = ()  # further long answers (CLAP NQ has up to 7): best ROUGE-L counts


@dataclass(frozen=True)
class QADataset:
    name: str
    items: list[QAItem]
    documents: Path  # the folder to ingest
    question_suffix: str = ""  # appended to every question (PubMedQA asks for the label first)
    labels: tuple[str, ...] = field(default=())


def sec10q(eval_data: Path, corpora: Path) -> QADataset:
    root = eval_data / "sec-10q-docugami"
    items = [QAItem(str(row["qid"]), row["question"], reference=row["answer"], gold_docs=tuple(row["gold_docs"]))
             for row in json_lines(root / "qna.jsonl")]
    return QADataset("sec10q", items, root / "docs")


PUBMEDQA_SUFFIX = " Start your answer with yes, no or maybe, then explain."


def pubmedqa(eval_data: Path, corpora: Path) -> QADataset:
    """The official 500-question test split over all 1,000 abstracts."""
    root = eval_data / "pubmedqa-pqal"
    records = json.loads((root / "ori_pqal.json").read_text())
    test = json.loads((root / "test_ground_truth.json").read_text())
    folder = _write_corpus(corpora / "pubmedqa", ((f"{pmid}.txt", "\n\n".join(r["CONTEXTS"])) for pmid, r in records.items()))
    items = [QAItem(pmid, records[pmid]["QUESTION"], reference=records[pmid]["LONG_ANSWER"],
                    gold_docs=(f"{pmid}.txt",), label=label) for pmid, label in test.items()]
    return QADataset("pubmedqa", items, folder, PUBMEDQA_SUFFIX, LABELS)


def clapnq(eval_data: Path, corpora: Path) -> QADataset:
    """300 answerable + 300 unanswerable dev questions; the corpus is their 600 passages."""
    root = eval_data / "clapnq-dev"
    rows = [(row, True) for row in json_lines(root / "clapnq_dev_answerable.jsonl")]
    rows += [(row, False) for row in json_lines(root / "clapnq_dev_unanswerable.jsonl")]
    documents = ((f"{row['id']}.txt", f"{row['passages'][0]['title']}\n\n{row['passages'][0]['text']}") for row, _ in rows)
    folder = _write_corpus(corpora / "clapnq", documents)
    items = [QAItem(row["id"], row["input"], reference=row["output"][0]["answer"] if answerable else None,
                    gold_docs=(f"{row['id']}.txt",) if answerable else (), answerable=answerable,
                    other_references=tuple(o["answer"] for o in row["output"][1:] if answerable and o.get("answer")))
             for row, answerable in rows]
    return QADataset("clapnq", items, folder)


def halueval_qa(eval_data: Path, corpora: Path) -> QADataset:
    """HaluEval's 500 HotpotQA questions with their short right answers; knowledge paragraphs as corpus."""
    rows = list(json_lines(eval_data / "halueval-qa-500" / "qa_one-turn_data.json"))
    folder = _write_corpus(corpora / "halueval-qa", ((f"q{n}.txt", row["knowledge"]) for n, row in enumerate(rows)))
    items = [QAItem(f"q{n}", row["question"].strip(), answers=(row["right_answer"],), gold_docs=(f"q{n}.txt",))
             for n, row in enumerate(rows)]
    return QADataset("halueval-qa", items, folder)


def jsonl_dataset(path: Path, documents: Path) -> QADataset:
    """Your own questions: one JSON object per line with "question" (or RAGAS "user_input") and optionally
    "id", "answers" (list of short answers), "reference" (long answer), "gold_docs" (file names),
    "answerable" (false = should abstain), "label" (yes, no or maybe: scored by label accuracy, as PubMedQA)."""
    items = [_generic_item(row, number) for number, row in enumerate(json_lines(path))]
    if not items:
        raise ValueError(f"{path} holds no questions")
    repeated = sorted(id_ for id_, count in Counter(item.id for item in items).items() if count > 1)
    if repeated:  # results are kept per id: a repeated one would silently drop a question
        raise ValueError(f"{path}: id(s) {', '.join(map(repr, repeated[:5]))} used by more than one question (a line "
                         "without an id takes its 0-based line number as its id)")
    return QADataset(path.stem, items, documents, labels=LABELS if any(item.label for item in items) else ())


def _generic_item(row: dict[str, Any], number: int) -> QAItem:
    """One line of a JSONL dataset; a field of the wrong type is an error naming the line, not a silent 0."""
    question = row.get("question") or row.get("user_input")
    if not question or not isinstance(question, str):
        raise ValueError(f"line {number + 1}: no 'question' (or 'user_input') text")
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError(f"line {number + 1}: 'answerable' must be true or false, not {answerable!r}")
    reference = None if row.get(REFERENCE_FROM) == "answers" else row.get("reference")  # our RAGAS export's
    return QAItem(str(row.get("id", number)), question, _texts(row, "answers", number), None if reference is None
                  else str(reference), tuple(Path(doc).name for doc in _texts(row, "gold_docs", number)),
                  _label(row.get("label"), number), answerable)


def _label(value: Any, number: int) -> str | None:
    """A yes / no / maybe label in any case; another value is an error (it could never be matched)."""
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in LABELS:
        raise ValueError(f"line {number + 1}: 'label' must be one of {', '.join(LABELS)}, not {value!r}")
    return value.strip().lower()


def _texts(row: dict[str, Any], field: str, number: int) -> tuple[str, ...]:
    """A field that holds a list of texts, or one text (numbers read as text: an answer may be 1999)."""
    value = row.get(field) or ()
    values = [value] if isinstance(value, (str, int, float)) else value
    if not isinstance(values, list | tuple) or any(isinstance(v, (dict, list)) for v in values):
        raise ValueError(f"line {number + 1}: '{field}' must be a text or a list of texts")
    return tuple(str(v) for v in values)


QA_DATASETS: dict[str, Callable[[Path, Path], QADataset]] = {
    "sec10q": sec10q, "pubmedqa": pubmedqa, "clapnq": clapnq, "halueval-qa": halueval_qa}


def _write_corpus(folder: Path, documents: Iterator[tuple[str, str]]) -> Path:
    """Write the documents once (a marker file says the folder is complete)."""
    done = folder / ".complete"
    if not done.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in documents:
            (folder / name).write_text(text, encoding="utf-8")
        done.write_text("ok\n")
    return folder


@contextmanager
def reading_eval_data(eval_data: Path, dataset: str) -> Iterator[None]:
    """A missing dataset file is reported with the folder it was looked for in and how to point elsewhere."""
    try:
        yield
    except FileNotFoundError as error:
        raise ValueError(f"{dataset}: {error.filename or error} is missing; --eval-data (or RAG_EVAL_DATA) must "
                         f"name the folder that holds the evaluation datasets (now {eval_data})") from error


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
