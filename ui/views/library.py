"""Library: collections, uploads or a server folder to ingest (with progress), the document list,
delete and re-ingest."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import streamlit as st

from ingest.library import delete_document, documents, save_uploads
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.pipeline import IngestOptions, ingest_paths
from rag.collection import CollectionError, being_written, validate_name
from rag.config import Settings
from rag.pipeline import shared_embedder
from rag.types import IngestReport
from ui.jobs import job_panel, job_running, start_job
from ui.state import base_settings, collections


st.title("Library")
existing = collections()
left, right = st.columns([2, 1])
chosen = left.selectbox("Collection", existing + ["(new collection)"], key="library_collection")
if chosen == "(new collection)":
    chosen = right.text_input("New collection name", value="default", key="new_collection",
                              help="letters, digits, '.', '-' and '_'")
try:
    settings = base_settings().with_overrides(collection=validate_name(chosen))
except CollectionError as error:
    st.warning(str(error))
    st.stop()


def ingest_job(settings: Settings) -> str:
    """The key of a collection's ingest job: one at a time per collection (its lock allows no more)."""
    return f"ingest:{settings.collection_dir()}"


def start_ingest(paths: list[Path], force: bool = False) -> None:
    """Ingest in the background (a rerun of this page cannot cut it short); the embedder is the one searches
    use, loaded once per server."""
    target, options = settings, IngestOptions(progress=False, force=force)
    start_job(ingest_job(target), f"ingest into '{target.collection}'", lambda report: ingest_paths(
        paths, target, embedder=shared_embedder(target), options=replace(options, on_progress=report)))


def show_report(report: IngestReport) -> None:
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("added", "updated", "unchanged", "failed", "skipped")
                       if report.count(s))
    st.success(f"{counts or 'no files'}; +{report.chunks_added} chunks in {report.seconds:.1f} s")
    for outcome in report.files:
        if outcome.status in ("failed", "skipped"):
            st.error(f"{Path(outcome.path).name}: {outcome.error}")


st.subheader("Add documents")
suffixes = sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
uploads = st.file_uploader(f"Upload files (up to {settings.max_file_mb:g} MB each)", type=suffixes,
                           accept_multiple_files=True, key="uploads")
busy = job_running(ingest_job(settings))  # one ingest at a time per collection
if st.button("Ingest uploaded files", disabled=busy or not uploads):
    if being_written(settings.collection_dir()):  # by `rag ingest`, say: nothing is saved that it cannot index
        st.error(f"'{settings.collection}' is being written by another process; try again when it is done")
    else:
        saved, refused = save_uploads(settings, [(upload.name, upload.getvalue()) for upload in uploads or []])
        for reason in refused:
            st.error(reason)
        if saved:
            start_ingest(saved)
if os.environ.get("RAG_UI_SERVER_FOLDERS", "0") == "1":  # `rag ui` sets it to 1 when it listens on localhost only
    folder = st.text_input("Or a folder on the server", placeholder="/path/to/documents")
    if st.button("Ingest folder", disabled=busy or not folder):
        start_ingest([Path(folder).expanduser()])
else:
    st.caption("Server folders are off: `rag ui` offers them when it listens on localhost only "
               "(RAG_UI_SERVER_FOLDERS=1 allows them anyway).")
job_panel(ingest_job(settings), show_report)

st.subheader(f"Documents in '{settings.collection}'")
try:
    records = documents(settings)
except CollectionError as error:  # e.g. being created by another tab's first ingest
    st.warning(str(error))
    st.stop()
if not records:
    st.caption("No documents yet.")
    st.stop()
st.dataframe([{"document": Path(r.path).name, "status": r.status, "chunks": r.chunks, "pages": r.pages,
               "error": r.error or "", "path": r.path} for r in records], hide_index=True)
names = {f"{Path(r.path).name}  ({r.path})": r.path for r in records}
picked = st.selectbox("Document", list(names), key="picked_document")
delete, again = st.columns(2)
if delete.button("Delete document", type="secondary"):
    try:
        removed = delete_document(settings, names[picked])
    except (CollectionError, ValueError, OSError) as error:  # another tab is ingesting, it is gone, a read-only disk
        st.error(str(error))
    else:
        st.toast(f"deleted {Path(names[picked]).name} ({removed} chunks)")
        st.rerun()
if again.button("Re-ingest document", disabled=busy):
    start_ingest([Path(names[picked])], force=True)  # read again, failed or indexed, changed or not
    st.rerun()  # its progress shows under "Add documents"
