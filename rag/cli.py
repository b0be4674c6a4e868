"""The `rag` command: thin argument parsing and rendering over the library."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

from rag.cli_eval import add_eval, positive_int, run_eval
from rag.config import RUNNERS, Settings, load_settings
from rag.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from rag.check import POLICIES, answer_notes
from rag.retrieve import MODE_HELP, MODES
from rag.types import Answer, IngestReport, Passage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Private, local document question answering.")
    parser.add_argument("--data-dir", type=Path, help="where collections live (env RAG_DATA_DIR)")
    parser.add_argument("--eval-data", type=Path, help="evaluation data folder (env RAG_EVAL_DATA)")
    parser.add_argument("--embedder", help="'packaged' (default), a local model dir, a hub id, or 'hash'")
    parser.add_argument("--device", help="auto (default), cpu or cuda")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_ingest(commands.add_parser("ingest", help="add or update documents in a collection"))
    _add_search(commands.add_parser("search", help="find the passages most similar to a query"))
    _add_ask(commands.add_parser("ask", help="answer a question from a collection, citing passages"))
    commands.add_parser("collections", help="list collections and their documents").add_argument(
        "--json", action="store_true")
    add_eval(commands.add_parser("eval", help="score the system or its fact-checker on a dataset; compare runs"))
    ui = commands.add_parser("ui", help="start the chat UI in the browser (Streamlit)")
    ui.add_argument("--port", type=int, default=8501, help="port on localhost (8501)")
    ui.add_argument("--host", default="localhost", help="address to listen on (localhost)")
    models = commands.add_parser("models", help="list or prepare the packaged generator models")
    models.add_argument("action", choices=("list", "prepare"))
    models.add_argument("name", nargs="?", default="default", help="default, small, tiny, a .gguf file or a model dir")
    return parser


def _add_ask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question")
    parser.add_argument("--collection", help="collection name (default: 'default')")
    parser.add_argument("--model", help="default (Qwen2.5-Coder-1.5B), small, tiny, a model dir, .gguf file or hub id")
    parser.add_argument("-k", type=positive_int, default=5, help="passages given to the model (5)")
    parser.add_argument("--mode", choices=MODES, default="hybrid", help=MODE_HELP)
    parser.add_argument("--doc", action="append", dest="docs", metavar="NAME",
                        help="only this document (path or file name; repeatable)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=256, help="answer length limit in tokens (256)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling when temperature > 0")
    parser.add_argument("--checker", help="judge (the loaded model; default), judge+gain (the same, also measuring "
                                          "the weakest gain; measured no better, see README), overlap, or a local NLI model dir")
    parser.add_argument("--check-policy", choices=POLICIES, default="flag",
                        help="flag (mark unsupported sentences; default), strict (drop them), "
                        "regenerate (retry once naming them, keep the better answer), off")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end, no streaming")


def _add_ingest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    parser.add_argument("--collection", help="collection name (default: 'default')")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--prune", action="store_true", help="remove documents gone from the given folders")
    parser.add_argument("--retry-failed", action="store_true", help="parse again files that failed before")
    parser.add_argument("--force", action="store_true",
                        help="parse and embed every file again, changed or not (e.g. after upgrading the parsers)")
    parser.add_argument("--workers", type=int, help="parser processes (default: cores, max 4)")
    parser.add_argument("--runner", choices=RUNNERS,
                        help="parse files in a local process pool (default) or on Ray (env RAG_RUNNER)")
    parser.add_argument("--ray-address", help="with --runner ray: a cluster to join ('auto', ray://HOST:10001); "
                                              "default: a local Ray for this run (env RAG_RAY_ADDRESS)")
    parser.add_argument("--file-timeout", type=float, dest="file_timeout_s",
                        help="seconds per file (300; OCR of scanned pages gets 80%% of it)")
    parser.add_argument("--ocr", metavar="LANGS",
                        help="Tesseract language(s) for PDF pages without a text layer, e.g. eng+fra; 'off' (eng)")
    parser.add_argument("--max-file-mb", type=float, help="refuse larger files: each is reported as failed (256)")
    parser.add_argument("--chunk-tokens", type=int, help="chunk size in embedder tokens (240)")
    parser.add_argument("--chunk-overlap", type=int, help="overlap in embedder tokens (32)")


def _add_search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query")
    parser.add_argument("--collection", help="collection name (default: 'default')")
    parser.add_argument("-k", type=positive_int, default=5, help="number of passages (5)")
    parser.add_argument("--mode", choices=MODES, default="hybrid", help=MODE_HELP)
    parser.add_argument("--doc", action="append", dest="docs", metavar="NAME",
                        help="search only this document (path or file name; repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries(args.verbose)
    from rag.collection import CollectionError
    from rag.models import ModelUnavailable

    try:
        settings = _settings(args)
        return _COMMANDS[args.command](args, settings)
    except (CollectionError, ModelUnavailable, ValueError, FileNotFoundError) as error:
        print(f"rag: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _settings(args: argparse.Namespace) -> Settings:
    """RAG_* environment variables, then the command line's options."""
    return load_settings(
        data_dir=args.data_dir, eval_data=args.eval_data, embedder=args.embedder, device=args.device,
        collection=getattr(args, "collection", None), workers=getattr(args, "workers", None),
        model=getattr(args, "model", None), checker=getattr(args, "checker", None),
        file_timeout_s=getattr(args, "file_timeout_s", None), max_file_mb=getattr(args, "max_file_mb", None),
        ocr=getattr(args, "ocr", None), runner=getattr(args, "runner", None),
        ray_address=getattr(args, "ray_address", None),
        chunk_tokens=getattr(args, "chunk_tokens", None), chunk_overlap=getattr(args, "chunk_overlap", None),
    )


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import IngestOptions, ingest_paths

    options = IngestOptions(prune=args.prune, retry_failed=args.retry_failed, force=args.force, progress=not args.json)
    report = ingest_paths(args.paths, settings, options=options)
    print(json.dumps(report_json(report)) if args.json else render_report(report))
    return EXIT_FAILED if report.nothing_readable else EXIT_OK


def report_json(report: IngestReport) -> dict:
    files = [{"path": o.path, "status": o.status, "chunks": o.chunks, "error": o.error,
              "warnings": list(o.warnings)} for o in report.files]
    return {"collection": report.collection, "files": files, "chunks_added": report.chunks_added,
            "chunks_removed": report.chunks_removed, "seconds": report.seconds, "timings": report.timings}


def render_report(report: IngestReport) -> str:
    lines = [f"{o.status:<9} {o.path}: {o.error}" for o in report.files if o.status in ("failed", "skipped")]
    lines += [f"warning   {o.path}: {w}" for o in report.files for w in o.warnings if o.status != "unchanged"]
    counts = ", ".join(f"{report.count(s)} {s}" for s in
                       ("added", "updated", "unchanged", "removed", "failed", "skipped") if report.count(s))
    lines.append(f"collection '{report.collection}': {counts or 'no files'}; "
                 f"+{report.chunks_added} / -{report.chunks_removed} chunks in {report.seconds:.1f} s")
    return "\n".join(lines)


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    from rag.retrieve import Retriever

    retriever = Retriever.open(settings)
    try:
        passages = retriever.search(args.query, args.k, mode=args.mode, docs=args.docs)
    finally:
        retriever.close()
    print(json.dumps({"passages": [passage_json(p) for p in passages]}) if args.json
          else render_passages(passages))
    return EXIT_OK


def passage_json(passage: Passage) -> dict:
    return {"doc": passage.doc, "page": passage.page, "score": round(passage.score, 4), "text": passage.text}


def render_passages(passages: list[Passage]) -> str:
    if not passages:
        return "no passages found"
    return "\n\n".join(f"[{n}] {Path(p.doc).name} p.{p.page}  score {p.score:.3f}\n    "
                       + p.text[:400].replace("\n", " ") for n, p in enumerate(passages, start=1))


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.check import CheckSettings
    from rag.pipeline import AskOptions, open_pipeline
    from rag.types import GenerationOptions

    log = (lambda message: None) if args.json else (lambda message: print(message, file=sys.stderr))
    pipeline = open_pipeline(settings, log=log)
    generation = GenerationOptions(args.max_new_tokens, args.temperature, args.top_p)
    check = CheckSettings(policy=args.check_policy)
    stream = pipeline.stream(args.question, AskOptions(args.k, args.mode, tuple(args.docs or ()), generation, check))
    streamed = []
    for piece in stream:
        streamed.append(piece)
        if not args.json:
            print(piece, end="", flush=True)
    answer = stream.result()
    pipeline.close()
    print(json.dumps(answer_json(answer)) if args.json else
          render_after_stream(answer, "".join(streamed), args.check_policy) + render_checks(answer) + render_sources(answer))
    return EXIT_OK


def render_after_stream(answer: Answer, streamed: str, policy: str) -> str:
    """What follows the streamed draft: the answer the check left where it differs from the draft (strict
    removed sentences, which its text counts; regenerate kept its second answer), then the notes the chat
    shows (no answer, no sentence supported)."""
    changed = answer.text != streamed.strip()
    notes = answer_notes(replace(answer, removed=0))
    return ((f"\n\nChecked answer ({policy}):\n{answer.text}" if changed else "")
            + "".join(f"\n\n({note})" for note in notes) + "\n\n")


def answer_json(answer: Answer) -> dict:
    sentences = [{"text": s.text, "citations": list(s.citations), "verdict": s.verdict, "score": s.score,
                  "evidence": asdict(s.evidence) if s.evidence else None, "note": s.note} for s in answer.sentences]
    passages = [{"n": n, **passage_json(p)} for n, p in enumerate(answer.passages, start=1)]
    return {"question": answer.question, "answer": answer.text, "abstained": answer.abstained,
            "sentences": sentences, "passages": passages, "model": answer.model, "timings_ms": answer.timings_ms,
            "removed": answer.removed}


def render_checks(answer: Answer) -> str:
    """One line per checked sentence: its verdict mark, score and note."""
    marks = {"supported": "✓", "unsupported": "✗", "contradicted": "✗✗"}
    lines = [f"  {marks[s.verdict]} {s.verdict:<12} {s.score:.2f}  {s.text[:90]}" + (f"  ({s.note})" if s.note else "")
             for s in answer.sentences if s.verdict in marks]
    return ("Checks:\n" + "\n".join(lines) + "\n\n") if lines else ""


def render_sources(answer: Answer) -> str:
    cited = sorted({n for sentence in answer.sentences for n in sentence.citations})
    lines = [f"[{n}] {Path(p.doc).name}, page {p.page}" + ("" if n in cited else "  (not cited)")
             for n, p in enumerate(answer.passages, start=1)]
    seconds = answer.timings_ms.get("total", 0.0) / 1000
    return "Sources:\n" + "\n".join(lines or ["(none)"]) + f"\n({answer.model}, {seconds:.1f} s)"


def run_ui(args: argparse.Namespace, settings: Settings) -> int:
    """`streamlit run ui/app.py`, with this command's settings passed on as RAG_* variables."""
    import subprocess

    import ui

    env = os.environ | {"RAG_DATA_DIR": str(settings.data_dir), "RAG_EVAL_DATA": str(settings.eval_data),
                        "RAG_EMBEDDER": settings.embedder, "RAG_DEVICE": settings.device, "RAG_MODEL": settings.model}
    # Reading any server folder is for a UI on this machine; on the network it needs RAG_UI_SERVER_FOLDERS=1.
    env.setdefault("RAG_UI_SERVER_FOLDERS", "1" if args.host in ("localhost", "127.0.0.1", "::1") else "0")
    command = [sys.executable, "-m", "streamlit", "run", str(Path(ui.__file__).with_name("app.py")), "--server.port", str(args.port),
               "--server.address", args.host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.maxUploadSize", str(max(1, round(settings.max_file_mb)))]  # the Library page's limit
    print(f"rag ui: http://{args.host}:{args.port}  (Ctrl+C stops it)", file=sys.stderr)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def run_models(args: argparse.Namespace, settings: Settings) -> int:
    from rag.models import GENERATORS, is_prepared, resolve_generator

    if args.action == "list":
        for name, packaged in GENERATORS.items():
            ready = is_prepared(packaged, settings.model_cache_dir)
            print(f"{name:<8} {packaged.model:<30} {'prepared' if ready else 'not prepared'}  ({packaged.install})")
        return EXIT_OK
    source = resolve_generator(args.name, settings.model_cache_dir, lambda m: print(m, file=sys.stderr))
    if not source.is_local:
        print(f"rag: error: {args.name!r} is not a packaged model ({', '.join(GENERATORS)}), a model folder or a "
              ".gguf file; as a hub id it is downloaded when first used (with internet)", file=sys.stderr)
        return EXIT_USAGE
    print(f"{source.name}: ready at {source.location}")
    return EXIT_OK


def run_collections(args: argparse.Namespace, settings: Settings) -> int:
    from rag.collection import collection_documents

    documents, unavailable = collection_documents(settings.data_dir)
    listing = {name: [asdict(record) for record in records] for name, records in documents.items()}
    if args.json:
        print(json.dumps({"collections": listing, "unavailable": unavailable}))
        return EXIT_OK
    if not listing and not unavailable:
        print(f"no collections under {settings.data_dir}: `rag ingest PATH` makes one")
    for name, records in listing.items():
        print(f"{name}: {len(records)} documents, {sum(r['chunks'] for r in records)} chunks")
        print("\n".join(f"  {r['status']:<8} {r['chunks']:>5}  {r['path']}" for r in records))
    for name, reason in unavailable.items():
        print(f"{name}: unavailable ({reason})")
    return EXIT_OK


def _quiet_libraries(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # libraries that set their own logger to DEBUG (bm25s) stay quiet
        handler.setLevel(level)
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


_COMMANDS = {"ingest": run_ingest, "search": run_search, "ask": run_ask, "collections": run_collections,
             "models": run_models, "eval": run_eval, "ui": run_ui}

if __name__ == "__main__":
    raise SystemExit(main())
