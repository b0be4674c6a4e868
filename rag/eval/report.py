"""report.md and report.html of an evaluation run: settings, metrics, histograms (SVG, no plotting
library) and the per-item table."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from rag.eval.runs import RunDir

_COLOURS = ("#2b7bb9", "#d9534f", "#5cb85c", "#f0ad4e")
_WIDTH, _HEIGHT, _MARGIN = 480, 200, 30
SCORE_SPAN = (0.0, 1.0)  # the axis of histograms of scores, so runs' plots compare at a glance


@dataclass(frozen=True)
class Histogram:
    name: str  # file stem of the SVG: letters, digits and dashes
    title: str
    series: dict[str, list[float]]  # legend label -> values
    bins: int = 20
    span: tuple[float, float] | None = None  # the axis; None: from the values (scores use (0, 1))


@dataclass(frozen=True)
class Report:
    title: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    histograms: tuple[Histogram, ...]
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    run: dict[str, Any] = field(default_factory=dict)  # how far the run got and how long it took (run_facts)


def run_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """What a report says of the run itself, from its summary: items done, complete or not, wall time
    (unknown for runs summarised before it was recorded)."""
    seconds = summary.get("wall_seconds")
    return {"items": summary.get("items"), "complete": summary.get("complete"),
            "wall time": "unknown" if seconds is None else duration_text(seconds)}


def duration_text(seconds: float) -> str:
    """
    >>> duration_text(42.4), duration_text(59.6), duration_text(754), duration_text(3599.7), duration_text(7873)
    ('42 s', '1 min 0 s', '12 min 34 s', '1 h 0 min', '2 h 11 min')
    """
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minute} min"
    return f"{minutes} min {second} s" if minutes else f"{second} s"


def bin_counts(values: Sequence[float], low: float, high: float, bins: int) -> list[int]:
    """How many values fall in each of ``bins`` equal bins over [low, high] (the top edge counts in the last).

    >>> bin_counts([0.0, 0.1, 0.5, 1.0], 0.0, 1.0, 2)
    [2, 2]
    """
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(max(int((value - low) / width), 0), bins - 1)] += 1
    return counts


def axis_span(histogram: Histogram) -> tuple[float, float]:
    """The histogram's own span, else the values' range; one value (or all equal) sits mid-axis.

    >>> [axis_span(Histogram("h", "t", {"a": values})) for values in ([1.0, 3.0], [2.0, 2.0], [])]
    [(1.0, 3.0), (1.5, 2.5), (-0.5, 0.5)]
    """
    if histogram.span is not None:
        return histogram.span
    everything = [v for values in histogram.series.values() for v in values] or [0.0]
    low, high = min(everything), max(everything)
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def histogram_svg(histogram: Histogram) -> str:
    """Overlaid outline histograms of each series on a shared axis."""
    low, high = axis_span(histogram)
    counted = {label: bin_counts(values, low, high, histogram.bins) for label, values in histogram.series.items()}
    tallest = max((max(c) for c in counted.values() if c), default=1) or 1
    bar = (_WIDTH - 2 * _MARGIN) / histogram.bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT + 40}" '
             f'font-family="sans-serif" font-size="11"><text x="{_MARGIN}" y="14">{html.escape(histogram.title)}</text>']
    for index, (label, counts) in enumerate(counted.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        for b, count in enumerate(counts):
            height = (_HEIGHT - 2 * _MARGIN) * count / tallest
            parts.append(f'<rect x="{_MARGIN + b * bar:.1f}" y="{_HEIGHT - _MARGIN - height:.1f}" width="{bar:.1f}" '
                         f'height="{height:.1f}" fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>')
        parts.append(f'<text x="{_MARGIN + 150 * index}" y="{_HEIGHT + 30}" fill="{colour}">'
                     f'■ {html.escape(label)} (n={len(histogram.series[label])})</text>')
    parts.append(f'<text x="{_MARGIN}" y="{_HEIGHT - _MARGIN + 14}">{low:.3g}</text>'
                 f'<text x="{_WIDTH - _MARGIN}" y="{_HEIGHT - _MARGIN + 14}" text-anchor="end">{high:.3g}</text>'
                 f'<text x="{_MARGIN - 4}" y="{_MARGIN}" text-anchor="end">{tallest}</text></svg>')
    return "".join(parts)


def write_report(run: RunDir, report: Report, summary: dict[str, Any]) -> list[str]:
    """Write report.md (with the histograms as SVG files beside it) and a self-contained report.html; they
    open with the run itself (from its ``summary``: items, complete, wall time)."""
    report = replace(report, run=run_facts(summary))
    svgs = {h.name: histogram_svg(h) for h in report.histograms}
    written = [str(run.write_text(f"{name}.svg", svg)) for name, svg in svgs.items()]
    written.append(str(run.write_text("report.md", render_markdown(report))))
    written.append(str(run.write_text("report.html", render_html(report, svgs))))
    return written


def render_markdown(report: Report) -> str:
    lines = [f"# {_md_cell(report.title)}", "", "## Run", "", _md_table(["run", "value"], report.run.items()), "",
             "## Settings", "", _md_table(["setting", "value"], report.config.items()), "",
             "## Metrics", "", _md_table(["metric", "value"], report.metrics.items()), "", "## Plots", ""]
    lines += [f"![{h.title}]({h.name}.svg)" for h in report.histograms]
    lines += ["", f"## Items ({len(report.rows)})", "",
              _md_table(list(report.columns), ([row.get(c, "") for c in report.columns] for row in report.rows))]
    return "\n".join(lines) + "\n"


def render_html(report: Report, svgs: dict[str, str]) -> str:
    def table(header: Sequence[str], rows: Any) -> str:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    style = ("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}")
    items = ([row.get(c, "") for c in report.columns] for row in report.rows)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(report.title)}</h1>"
            f"<h2>Run</h2>{table(['run', 'value'], report.run.items())}"
            f"<h2>Settings</h2>{table(['setting', 'value'], report.config.items())}"
            f"<h2>Metrics</h2>{table(['metric', 'value'], report.metrics.items())}"
            f"<h2>Plots</h2>{''.join(svgs.values())}"
            f"<h2>Items ({len(report.rows)})</h2>{table(report.columns, items)}</body></html>\n")


def _md_table(header: Sequence[str], rows: Any) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_cell(value: Any) -> str:
    """A table cell that stays one cell and shows text as text (Markdown viewers render raw HTML).

    >>> print(_md_cell("a | <b>b</b>" + chr(10) + "c" + chr(13) + "d" + chr(0x2028) + "e \\\\| f"))
    a \\| &lt;b&gt;b&lt;/b&gt; c d e \\\\\\| f
    """
    text = _cell(value).replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.replace("|", "\\|").splitlines())  # every line break (\\r, U+2028, ...) ends a table row


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)
