"""The Streamlit chat UI package (issue 6: not built yet; `rag ask` is the interface today)."""
