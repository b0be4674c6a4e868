"""A page's background job (rag.jobs): started by a button, kept by the server process under a key (the
collection it ingests into, say), shown as a progress bar polled every second while it runs, then as its
outcome. Switching pages, changing a setting, reloading the tab or opening another one meanwhile neither
stops nor hides it."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from rag.jobs import BackgroundJob, Report


@st.cache_resource
def _jobs() -> dict[str, BackgroundJob]:
    """This server's jobs by key, whichever browser tab started them."""
    return {}


def current_job(key: str) -> BackgroundJob | None:
    return _jobs().get(key)


def start_job(key: str, label: str, work: Callable[[Report], Any]) -> None:
    """Start the work unless the job under that key still runs (a button drawn before it started can still
    be clicked, another tab can ask): a second one would only collide with it on the collection or run
    folder."""
    if job_running(key):
        st.warning(f"{_jobs()[key].label} is still running: wait for it to finish")
        return
    _jobs()[key] = BackgroundJob.start(label, work)


def job_running(key: str) -> bool:
    job = current_job(key)
    return job is not None and job.running


def job_panel(key: str, show_result: Callable[[Any], None]) -> None:
    """The job's progress while it runs; once it has ended, its error or ``show_result(result)``."""
    job = current_job(key)
    if job is None:
        return
    if job.running:
        _progress(key)
    elif job.error is not None:
        st.error(str(job.error) or type(job.error).__name__)
    else:
        show_result(job.result)


@st.fragment(run_every=1.0)
def _progress(key: str) -> None:
    job = current_job(key)
    if job is None or not job.running:
        st.rerun()  # the whole page: its outcome, and tables the job changed
    stage, done, total = job.progress
    st.progress(done / total if total else 0.0, text=f"{job.label}: {stage} {done} / {total}")
