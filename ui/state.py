"""What the pages share: settings from the environment plus the sidebar's choices, and the models,
loaded once per server process and shared by every browser tab."""

from __future__ import annotations

import streamlit as st

from rag.check import POLICIES, CheckSettings
from rag.collection import list_collections
from rag.config import Settings, load_settings
from rag.models import GENERATORS
from rag.pipeline import AskOptions, Pipeline, shared_generator, shared_pipeline
from rag.types import GenerationOptions

DEFAULTS = {"top_k": 5, "check_policy": "flag", "temperature": 0.0}


def base_settings() -> Settings:
    return load_settings()


def current_settings() -> Settings:
    """Environment settings with the sidebar's model and the chosen collection."""
    return base_settings().with_overrides(model=st.session_state.get("model"),
                                          collection=st.session_state.get("collection"))


def collections() -> list[str]:
    return list_collections(base_settings().data_dir)


def ask_options() -> AskOptions:
    state = {key: st.session_state.get(key, value) for key, value in DEFAULTS.items()}
    return AskOptions(k=int(state["top_k"]), generation=GenerationOptions(temperature=float(state["temperature"])),
                      check=CheckSettings(policy=str(state["check_policy"])))


@st.cache_resource(show_spinner="Loading the model (once per server) ...")
def _warm_generator(model: str, _settings: Settings) -> str:
    generator = shared_generator(_settings)
    generator.warm_up()
    return generator.name


def pipeline(settings: Settings) -> Pipeline:
    """The collection's pipeline on the shared, already loaded generator."""
    _warm_generator(settings.model, settings)
    return shared_pipeline(settings)


def sidebar() -> None:
    """Settings in the sidebar; their values live in st.session_state for every page."""
    with st.sidebar:
        st.header("Settings")
        models = list(dict.fromkeys([base_settings().model, *GENERATORS]))
        st.selectbox("Model", models, key="model", help="packaged generators; RAG_MODEL sets the default")
        st.slider("Passages (top-k)", 1, 12, DEFAULTS["top_k"], key="top_k")
        st.selectbox("Check policy", POLICIES, key="check_policy",
                     help="flag: mark unsupported sentences; strict: drop them; regenerate: retry once; off")
        st.slider("Temperature", 0.0, 1.5, DEFAULTS["temperature"], 0.05, key="temperature", help="0 = greedy")
