"""`rag eval`: run a dataset, compare two runs, export a run; thin parsing and rendering over rag.eval."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from rag.config import Settings
from rag.exits import EXIT_OK
from rag.retrieve import MODE_HELP, MODES

if TYPE_CHECKING:
    from rag.eval.compare import Comparison
    from rag.eval.harness import EvalOptions, Suite


def add_eval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="sec10q, pubmedqa, clapnq, halueval-qa, a .jsonl file of your own; "
                        "wice, begin, halueval (fact-checker alone); or 'compare RUN_A RUN_B', 'export RUN', "
                        "'recheck RUN' (a QA run's answers checked again by today's checker), "
                        "'report RUN' (its summary and reports rewritten by today's metrics code)")
    parser.add_argument("runs", nargs="*", type=Path, metavar="RUN", help="with compare / export / recheck / report: run folders")
    parser.add_argument("-k", type=positive_int, default=5, help="passages per question (5)")
    parser.add_argument("--mode", choices=MODES, default="hybrid", help=MODE_HELP)
    parser.add_argument("--retrieval-only", action="store_true",
                        help="QA datasets: score retrieval alone (recall@k, MRR), nothing generated; seconds, not hours")
    parser.add_argument("--docs", type=Path, help="a .jsonl dataset's documents, indexed into collection eval-<name>")
    parser.add_argument("--collection", help="a .jsonl dataset: ask this existing collection instead")
    parser.add_argument("--ragas", type=Path, help="with export: write RAGAS-style JSONL here (default RUN/ragas.jsonl)")
    parser.add_argument("--limit", type=positive_int, help="evaluate N items (claims, questions) drawn with --seed")
    parser.add_argument("--seed", type=int, default=7, help="sampling seed (7)")
    parser.add_argument("--out", type=Path, help="run folder (default: DATA_DIR/eval/<dataset>-<model>-<N>-s<seed>, "
                        "RUN-rechecked for recheck); an interrupted run resumes when run again with the same folder")
    parser.add_argument("--model", help="generator model (default)")
    parser.add_argument("--checker", help="judge (default), judge+gain, overlap, or a local NLI model dir")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON, no progress bar")


def positive_int(text: str) -> int:
    """An argparse type: an integer of 1 or more."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


RUN_COMMANDS = ("compare", "export", "recheck", "report")  # take run folders, not a dataset


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    _refuse_ignored_options(args)
    if args.dataset in RUN_COMMANDS:
        run_command = {"compare": _run_compare, "export": _run_export, "recheck": _run_recheck,
                       "report": _run_report}[args.dataset]
        return run_command(args, settings)
    from rag.eval.harness import EvalOptions
    from rag.eval.suites import make_suite

    if args.runs:
        raise ValueError("only 'rag eval compare', 'export', 'recheck' and 'report' take run folders")
    options = EvalOptions(args.dataset, args.limit, args.seed, args.out, k=args.k, retrieval=args.mode,
                          retrieval_only=args.retrieval_only, documents=args.docs, collection=args.collection,
                          progress=not args.json)
    return _run_and_print(lambda: make_suite(settings, options), settings, options, args.json)


_DEFAULTS = {"k": 5, "mode": "hybrid", "retrieval_only": False, "docs": None, "collection": None, "ragas": None,
             "limit": None, "seed": 7, "out": None, "model": None, "checker": None}
_RUN_COMMAND_OPTIONS = {"compare": (), "export": ("ragas",), "report": (), "recheck": ("out", "model", "checker")}


def _refuse_ignored_options(args: argparse.Namespace) -> None:
    """Options that would be silently ignored are usage errors instead."""
    given = [name for name, default in _DEFAULTS.items() if getattr(args, name) != default]
    if args.dataset in RUN_COMMANDS and {"mode", "retrieval_only"} & set(given):
        raise ValueError(f"--mode and --retrieval-only choose how a dataset is run; rag eval {args.dataset} "
                         "takes the settings of the run(s) it is given")
    if args.retrieval_only and (args.model or args.checker):
        raise ValueError("--retrieval-only generates and checks nothing: --model and --checker do not apply")
    ignored = [name for name in given if name not in _options_read(args.dataset)]
    if ignored:
        flags = ", ".join("-k" if name == "k" else "--" + name.replace("_", "-") for name in ignored)
        raise ValueError(f"rag eval {args.dataset} does not use {flags}")


def _options_read(dataset: str) -> set[str]:
    """The options of _DEFAULTS that ``rag eval DATASET`` (or a run command) acts on."""
    from rag.eval.suites import FACT_CHECK_DATASETS, QA_DATASET_NAMES

    if dataset in RUN_COMMANDS:
        return set(_RUN_COMMAND_OPTIONS[dataset])
    everything = set(_DEFAULTS) - {"ragas"}
    if dataset in FACT_CHECK_DATASETS:  # the checker alone: no retrieval, no collection ("retrieval_only" says so)
        return everything - {"k", "mode", "docs", "collection"}
    return everything - {"docs"} if dataset in QA_DATASET_NAMES else everything  # built-ins bring their documents


def _run_recheck(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.recheck import default_recheck_dir, recheck_suite
    from rag.eval.runs import RunDir

    if len(args.runs) != 1:
        raise ValueError("usage: rag eval recheck RUN [--out DIR] [--checker CHECKER]")
    source = RunDir(args.runs[0])
    source.summary()  # a folder that is not a run is refused with its name
    suite, options = recheck_suite(source, settings, other_checker=bool(args.checker or args.model))
    options = replace(options, out=args.out or default_recheck_dir(source), progress=not args.json)
    return _run_and_print(lambda: suite, settings, options, args.json)


def _run_report(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.refresh import refresh_run
    from rag.eval.runs import RunDir

    if len(args.runs) != 1:
        raise ValueError("usage: rag eval report RUN")
    summary = refresh_run(RunDir(args.runs[0]), settings)
    print(json.dumps(summary) if args.json else render_metrics(summary["metrics"]))
    return EXIT_OK


def _run_and_print(make: Callable[[], Suite], settings: Settings, options: EvalOptions, as_json: bool) -> int:
    """Run the suite make() builds into its folder; print the summary (JSON or a table)."""
    from rag.eval.harness import run_suite

    try:
        result = run_suite(make(), settings, options)
    except KeyboardInterrupt:
        print("\ninterrupted: what finished is recorded; run the same command again to resume", file=sys.stderr)
        return 130
    if as_json:
        print(json.dumps(result.summary))
    else:
        print(render_metrics(result.summary["metrics"]))
        print(f"run folder: {result.run.root}" + ("" if result.summary["complete"] else " (incomplete)"))
    return EXIT_OK


def render_metrics(metrics: dict) -> str:
    return "\n".join(f"  {name:<28} {value:.4g}" if isinstance(value, float) else f"  {name:<28} {value}"
                     for name, value in metrics.items())


def _run_compare(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.compare import compare_runs
    from rag.eval.runs import RunDir

    if len(args.runs) != 2:
        raise ValueError("usage: rag eval compare RUN_A RUN_B")
    run_a, run_b = RunDir(args.runs[0]), RunDir(args.runs[1])
    comparison = compare_runs(run_a, run_b)
    if args.json:
        print(json.dumps(asdict(comparison)))
        return EXIT_OK
    print(render_comparison(comparison))
    return EXIT_OK


def render_comparison(comparison: Comparison) -> str:
    """Metrics side by side, notes on what they cover, the paired per-question change, the changed items."""
    lines = [f"{'metric':<28} {'A':>10} {'B':>10} {'B - A':>10}"]
    lines += [f"{c.name:<28} {_figure(c.a):>10} {_figure(c.b):>10} {_figure(c.delta):>10}" for c in comparison.metrics]
    lines += comparison_notes(comparison)
    if comparison.score_change:
        change = comparison.score_change
        interval = "" if change.ci95 is None else f" (95% interval {change.ci95[0]:+.4g} to {change.ci95[1]:+.4g})"
        lines.append(f"\nper-question score, B - A: {change.mean:+.4g}{interval} over the {change.questions} "
                     "questions in both")
    if not comparison.paired:
        return "\n".join(lines)
    lines.append(f"\n{len(comparison.items)} items changed score" + (":" if comparison.items else ""))
    lines += [f"  {item.id:<30} {item.a:.4g} -> {item.b:.4g}" for item in comparison.items[:50]]
    if len(comparison.items) > 50:
        lines.append(f"  ... and {len(comparison.items) - 50} more (--json lists them all)")
    for label, ids in (("only in A", comparison.only_a), ("only in B", comparison.only_b)):
        if ids:
            lines.append(f"{len(ids)} items {label}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    return "\n".join(lines)


def comparison_notes(comparison: Comparison) -> list[str]:
    """What the metrics table does not say: other questions, other item counts, a summary behind its results."""
    notes = []
    if not comparison.same_questions:
        notes.append("A and B asked different questions (another dataset or question file): items are not paired")
    elif not comparison.same_kind:
        notes.append("A and B are different kinds of runs: their per-item scores are not compared")
    if comparison.sizes:
        (a, b) = comparison.sizes
        if a.summarized != b.summarized:
            notes.append(f"the metrics cover {a.summarized} items in A and {b.summarized} in B")
        for name, size in (("A", a), ("B", b)):
            if size.summarized != size.results:
                notes.append(f"{name}'s summary.json covers {size.summarized} items but its results hold "
                             f"{size.results}: run `rag eval report` on it first")
    return ["", *(f"note: {note}" for note in notes)] if notes else []


def _run_export(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.ragas import export_ragas
    from rag.eval.runs import RunDir

    if len(args.runs) != 1:
        raise ValueError("usage: rag eval export RUN [--ragas FILE]")
    run = RunDir(args.runs[0])
    run.summary()  # a folder that is not a run is refused with its name, not exported as 0 rows
    target = args.ragas or run.root / "ragas.jsonl"
    count, failed = export_ragas(run.results(), target)
    print(f"{count} rows written to {target}" + (f" ({failed} failed questions left out)" if failed else ""))
    return EXIT_OK


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
