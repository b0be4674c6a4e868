"""Chat: ask, watch the answer stream, then see each sentence marked by its check and the cited sources."""

from __future__ import annotations

import sqlite3

import streamlit as st

from rag.conversation import Turn, conversation_markdown, plain_markdown, standalone_question
from ui.render import CSS, answer_html, sources_html
from ui.state import ask_options, collections, current_settings, pipeline

st.html(CSS)
st.title("Chat")
available = collections()
if not available:
    st.info("No collection yet: add documents on the **Library** page.")
    st.stop()
collection = st.selectbox("Collection", available, key="collection")
turns: list[Turn] = st.session_state.setdefault("turns", {}).setdefault(collection, [])


def show(turn: Turn, number: int) -> None:
    with st.chat_message("user"):
        st.markdown(plain_markdown(turn.question))
    with st.chat_message("assistant"):
        st.html(answer_html(turn.answer, number))
        if turn.answer.passages:
            with st.expander(f"Sources ({len(turn.answer.passages)})", expanded=number == len(turns)):
                st.html(sources_html(turn.answer, number))


for number, turn in enumerate(turns, start=1):
    show(turn, number)

question = st.chat_input("Ask a question about your documents")
if question and question.strip():
    with st.chat_message("user"):
        st.markdown(plain_markdown(question))
    with st.chat_message("assistant"):
        try:  # a missing model, a collection being rebuilt, ... : say so instead of a traceback
            active = pipeline(current_settings())
            with st.spinner("Reading the question in the light of the conversation ..."):
                searched = standalone_question(question, turns, active.generator)
            stream = active.stream(searched, ask_options())
            st.write_stream(stream)
            with st.spinner("Checking every sentence against the sources ..."):
                answer = stream.result()
        except (RuntimeError, OSError, ImportError, ValueError, sqlite3.Error) as error:  # RuntimeError covers
            # CollectionError and ModelUnavailable; ValueError a blank question or an unreadable calibration
            st.error(f"{type(error).__name__}: {error}")
            st.stop()
    turns.append(Turn(question, answer))
    st.rerun()

if turns:
    st.download_button("Export conversation (Markdown)", conversation_markdown(turns),
                       file_name=f"conversation-{collection}.md", mime="text/markdown")
