"""A page's background job (rag.jobs): started by a button, kept in the browser session, shown as a progress
bar polled every second while it runs, then as its outcome. Switching pages or changing a setting meanwhile
does not stop it."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from rag.jobs import BackgroundJob, Report


def start_job(key: str, label: str, work: Callable[[Report], Any]) -> None:
    """Start the work unless this session's job of that kind still runs (a button drawn before it started
    can still be clicked): a second one would only collide with it on the collection or run folder."""
    if job_running(key):
        st.warning(f"{st.session_state[key].label} is still running: wait for it to finish")
        return
    st.session_state[key] = BackgroundJob.start(label, work)


def job_running(key: str) -> bool:
    job = st.session_state.get(key)
    return job is not None and job.running


def job_panel(key: str, show_result: Callable[[Any], None]) -> None:
    """The job's progress while it runs; once it has ended, its error or ``show_result(result)``."""
    job: BackgroundJob | None = st.session_state.get(key)
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
    job: BackgroundJob = st.session_state[key]
    if not job.running:
        st.rerun()  # the whole page: its outcome, and tables the job changed
    stage, done, total = job.progress
    st.progress(done / total if total else 0.0, text=f"{job.label}: {stage} {done} / {total}")
