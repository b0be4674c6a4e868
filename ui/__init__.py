"""The Streamlit UI (`rag ui`): thin pages over the library; see ui/app.py."""
