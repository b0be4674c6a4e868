"""Entry point of the UI: `rag ui` runs `streamlit run` on this file."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.state import sidebar

PAGES = Path(__file__).with_name("pages")

st.set_page_config(page_title="Local RAG", page_icon="📄", layout="wide")
navigation = st.navigation([st.Page(PAGES / "chat.py", title="Chat", icon="💬", default=True),
                            st.Page(PAGES / "library.py", title="Library", icon="📚"),
                            st.Page(PAGES / "evaluation.py", title="Evaluation", icon="📊")])
sidebar()
navigation.run()
