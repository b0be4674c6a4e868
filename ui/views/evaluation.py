"""Evaluation: run a dataset through `rag eval`'s harness with a progress bar; browse earlier reports."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from rag.config import Settings
from rag.eval.harness import EvalOptions, EvalResult, list_runs, run_suite
from rag.eval.report import run_facts
from rag.eval.suites import DATASETS, make_suite
from rag.jobs import Report
from ui.jobs import job_panel, job_running, start_job
from ui.state import current_settings



def evaluate(settings: Settings, options: EvalOptions, report: Report) -> EvalResult:
    """The run, in the background: loading the dataset and its collection first, then item by item."""
    report("loading", 0, 0)
    options = replace(options, on_item=lambda done, total: report("items", done, total))
    return run_suite(make_suite(settings, options), settings, options)


st.title("Evaluation")
settings = current_settings()

job = f"eval:{settings.data_dir}"  # one evaluation at a time per data folder
with st.expander("Run an evaluation", expanded=not list_runs(settings)):
    dataset = st.selectbox("Dataset", DATASETS)
    limit = st.number_input("Items (0 = all)", min_value=0, value=20, step=10)
    seed = st.number_input("Seed", min_value=0, value=7)
    retrieval_only = st.checkbox("Retrieval only (QA datasets: recall@k and MRR, nothing generated)")
    if st.button("Run", disabled=job_running(job)):
        options = EvalOptions(dataset, int(limit) or None, int(seed), retrieval_only=retrieval_only, progress=False)
        start_job(job, f"{dataset} evaluation", lambda report: evaluate(settings, options, report))
job_panel(job, lambda result: st.success(f"finished: {result.run.root}"))  # seen with the form folded too

runs = list_runs(settings)
if not runs:
    st.info(f"No evaluation runs under {settings.data_dir / 'eval'} yet (`rag eval DATASET` or the form above).")
    st.stop()
by_name = {run.root.name: run for run in runs}
chosen = by_name[st.selectbox("Report", list(by_name), key="report")]
summary = chosen.summary()
facts = run_facts(summary)
st.caption(f"{facts['items']} items, wall time {facts['wall time']}"
           + ("" if facts["complete"] else " (incomplete: run again to resume)"))
st.table({"metric": list(summary["metrics"]), "value": [str(v) for v in summary["metrics"].values()]})
for svg in sorted(chosen.root.glob("*.svg")):
    st.html(svg.read_text())
report = chosen.root / "report.html"
if report.is_file():
    st.download_button("Download the full report (HTML)", report.read_text(), file_name=f"{chosen.root.name}.html",
                       mime="text/html")
