"""Entry point of the UI: `rag ui` runs `streamlit run` on this file."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.state import sidebar

VIEWS = Path(__file__).with_name("views")

st.set_page_config(page_title="Local RAG", page_icon=":material/description:", layout="wide")
navigation = st.navigation([st.Page(VIEWS / "chat.py", title="Chat", icon=":material/chat:", default=True),
                            st.Page(VIEWS / "library.py", title="Library", icon=":material/library_books:"),
                            st.Page(VIEWS / "evaluation.py", title="Evaluation", icon=":material/analytics:")])
KEPT_CHOICES = ("collection", "library_collection", "new_collection")
for key in KEPT_CHOICES:  # Streamlit drops a page's widget state when another page runs;
    if key in st.session_state:  # re-assigning it here keeps the user's choice
        st.session_state[key] = st.session_state[key]
sidebar()
navigation.run()
