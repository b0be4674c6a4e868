"""The UI pages under Streamlit's AppTest, on the hash embedder and the fake generator."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.pipeline import IngestOptions, ingest_paths
from rag.config import Settings
from rag.calibration import Calibration
from rag.eval.factcheck import FactCheckItem, FactCheckSuite
from rag.check import OverlapChecker
from rag.eval.harness import EvalOptions, run_suite

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")


@pytest.fixture
def ui_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    for name, value in {"RAG_DATA_DIR": str(settings.data_dir), "RAG_EMBEDDER": "hash", "RAG_MODEL": "fake",
                        "RAG_MODELS_DIR": str(settings.models_dir), "RAG_UI_SERVER_FOLDERS": "1"}.items():
        monkeypatch.setenv(name, value)
    return settings


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


def _html(app: AppTest) -> str:
    return "\n".join(element.proto.body for element in app.get("html"))


def _job(key: str):
    from ui.jobs import current_job

    return current_job(key)


def _finished(app: AppTest, key: str) -> AppTest:
    """The page once the background job under ``key`` has ended."""
    assert _job(key).wait(120), f"{key} still running"
    return app.run()


def test_chat_without_collections_points_to_the_library(ui_env: Settings) -> None:
    app = _app()
    assert not app.exception
    assert "Library" in app.info[0].value


def test_chat_answers_with_marks_chips_and_sources(ui_env: Settings, sample_copy: Path) -> None:
    ingest_paths([sample_copy], ui_env, options=IngestOptions(progress=False))
    app = _app()
    app.chat_input[0].set_value("How many maps does the Brindlewood library hold? $5 or $10").run()
    assert not app.exception
    assert app.chat_message[0].markdown[0].value.endswith(r"hold\? \$5 or \$10")  # as typed, not LaTeX
    page = _html(app)
    assert 'class="rag-chip"' in page and "data-verdict=" in page  # a citation chip and a verdict mark
    assert 'class="rag-card"' in page and "brindlewood-library.html" in page
    assert len(app.session_state["turns"]["default"]) == 1
    markdown = app.get("download_button")[0].proto.label
    assert "Export" in markdown


def test_follow_up_keeps_the_conversation(ui_env: Settings, sample_copy: Path) -> None:
    ingest_paths([sample_copy], ui_env, options=IngestOptions(progress=False))
    app = _app()
    app.chat_input[0].set_value("How many maps does the Brindlewood library hold?").run()
    app.chat_input[0].set_value("When was it founded?").run()
    turns = app.session_state["turns"]["default"]
    assert len(turns) == 2 and turns[1].question == "When was it founded?"
    assert "Brindlewood" in turns[1].answer.question  # retrieved with the earlier question's subject


def test_a_missing_model_is_an_error_message_not_a_traceback(ui_env: Settings, sample_copy: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_paths([sample_copy], ui_env, options=IngestOptions(progress=False))
    monkeypatch.setenv("RAG_MODEL", str(sample_copy / "no-such-model"))
    app = _app()
    app.chat_input[0].set_value("How many maps does the Brindlewood library hold?").run()
    assert not app.exception and "no model folder" in app.error[0].value
    assert app.session_state["turns"]["default"] == []


def test_a_blank_question_is_ignored(ui_env: Settings, sample_copy: Path) -> None:
    ingest_paths([sample_copy], ui_env, options=IngestOptions(progress=False))
    app = _app()
    app.chat_input[0].set_value("   ").run()
    assert not app.exception and not app.error and app.session_state["turns"]["default"] == []


def test_the_chosen_collection_survives_a_visit_to_another_page(ui_env: Settings, sample_copy: Path) -> None:
    for name in ("alpha", "beta"):
        ingest_paths([sample_copy], ui_env.with_overrides(collection=name), options=IngestOptions(progress=False))
    app = _app()
    app.selectbox(key="collection").set_value("beta").run()
    app.switch_page("views/library.py").run()
    app.switch_page("views/chat.py").run()
    assert not app.exception and app.selectbox(key="collection").value == "beta"


def test_a_new_collection_s_name_survives_a_visit_to_another_page(ui_env: Settings) -> None:
    app = _app().switch_page("views/library.py").run()
    app.selectbox(key="library_collection").set_value("(new collection)").run()
    app.text_input(key="new_collection").set_value("contracts").run()
    app.switch_page("views/chat.py").run()
    app.switch_page("views/library.py").run()
    assert not app.exception and app.text_input(key="new_collection").value == "contracts"
    assert app.subheader[1].value == "Documents in 'contracts'"


def test_library_ingests_lists_and_deletes(ui_env: Settings, sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import ingest.pipeline

    release, ingest_paths = threading.Event(), ingest.pipeline.ingest_paths
    monkeypatch.setattr(ingest.pipeline, "ingest_paths", lambda *args, **kwargs: release.wait(60) and ingest_paths(
        *args, **kwargs))  # the ingest waits until the test has looked at the page while it runs
    app = _app()
    app.switch_page("views/library.py").run()
    assert not app.exception
    app.text_input[1].set_value(str(sample_copy)).run()  # [0] is the new collection's name
    [b for b in app.button if b.label == "Ingest folder"][0].click().run()
    job = f"ingest:{ui_env.collection_dir()}"
    assert not app.exception and _job(job).running and _job(job).label == "ingest into 'default'"
    other_tab = _app().switch_page("views/library.py").run()
    other_tab.text_input[1].set_value(str(sample_copy)).run()
    assert [b for b in other_tab.button if b.label == "Ingest folder"][0].disabled  # it sees the ingest running
    app.switch_page("views/chat.py").run()  # leaving the page does not stop the ingest
    release.set()
    _finished(app, job).switch_page("views/library.py").run()
    assert "3 added" in app.success[0].value
    table = app.dataframe[0].value
    assert sorted(table["status"]) == ["indexed"] * 3
    [b for b in app.button if b.label == "Re-ingest document"][0].click().run()
    assert not app.exception and "1 updated" in _finished(app, job).success[0].value  # though unchanged
    [b for b in app.button if b.label == "Delete document"][0].click().run()
    assert not app.exception
    assert len(app.dataframe[0].value) == 2


def test_library_offers_no_server_folder_when_served_on_the_network(ui_env: Settings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_UI_SERVER_FOLDERS", "0")  # what `rag ui --host 0.0.0.0` sets
    app = _app()
    app.switch_page("views/library.py").run()
    assert not app.exception and not [b for b in app.button if b.label == "Ingest folder"]
    assert "Server folders are off" in app.caption[0].value


def test_library_offers_no_server_folder_when_started_without_rag_ui(ui_env: Settings,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_UI_SERVER_FOLDERS")  # `streamlit run ui/app.py --server.address 0.0.0.0`, say
    app = _app()
    app.switch_page("views/library.py").run()
    assert not app.exception and not [b for b in app.button if b.label == "Ingest folder"]


def test_library_rejects_a_bad_collection_name(ui_env: Settings) -> None:
    app = _app()
    app.switch_page("views/library.py").run()
    app.text_input[0].set_value("../escape").run()
    assert app.warning and not app.exception


def test_evaluation_lists_reports(ui_env: Settings) -> None:
    items = [FactCheckItem("1", "1", "The port opened in 1874.", "The port opened in 1874.", True),
             FactCheckItem("2", "2", "Bananas are blue.", "The port opened in 1874.", False)]
    run_suite(FactCheckSuite("toy", items, OverlapChecker(), Calibration()), ui_env,
              EvalOptions("toy", out=ui_env.data_dir / "eval" / "toy-run", progress=False))
    app = _app()
    app.switch_page("views/evaluation.py").run()
    assert not app.exception
    assert app.selectbox(key="report").value == "toy-run"
    assert "balanced_accuracy" in [row for row in app.table[0].value["metric"]]
    assert "<svg" in _html(app)
    assert app.caption[0].value.startswith("2 items, wall time ") and "incomplete" not in app.caption[0].value


def test_an_evaluation_runs_in_the_background_and_its_report_is_listed(ui_env: Settings, eval_data: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EVAL_DATA", str(eval_data))
    app = _app()
    app.switch_page("views/evaluation.py").run()
    app.selectbox[0].set_value("halueval")
    app.number_input[0].set_value(4)
    [b for b in app.button if b.label == "Run"][0].click().run()
    assert not app.exception and _job(f"eval:{ui_env.data_dir}").label == "halueval evaluation"
    finished = _finished(app, f"eval:{ui_env.data_dir}")
    assert not finished.exception and finished.success[0].value.startswith("finished: ")
    assert finished.selectbox(key="report").value.startswith("halueval-")
