# mountcam: `make run` and `make test` are the two set-up commands (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: run demo test lint format bench system-deps interop clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench,scale]"
	touch $(STAMP)

# Debian tools the tests need (exiftool reads DNGs, chromium runs the camera app's browser
# tests). Installed only when missing.
# DEPS=interop adds darktable and rawtherapee (see tools/install-system-deps.sh).
DEPS ?= test
system-deps:
	@tools/install-system-deps.sh $(DEPS)

# DNG acceptance 4: darktable-cli and rawtherapee-cli export every DNG variant (tests/interop,
# skipped by `make test`). A missing tool fails here instead of skipping.
interop: $(STAMP)
	@tools/install-system-deps.sh interop
	MOUNTCAM_INTEROP_REQUIRED=1 $(BIN)/python -m pytest -n 2 -q -m interop tests/interop

# The camera app (docs/web-app.md) in the foreground on the simulated camera; Ctrl+C stops it.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/mountcam serve --host $(HOST) --port $(PORT) --captures $(OUT)/captures

# The headless demo: one metered shot of a ColorChecker, written as a DNG in $(OUT).
demo: $(STAMP)
	$(BIN)/mountcam shoot --scene chart:colorchecker --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

format: $(STAMP)
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -n 2 -q

# The benchmarks behind docs/benchmarks.md. The develop peers (darktable-cli, rawtherapee-cli)
# are Debian packages, installed when missing; McMaster-18 is read from ../shared/data.
bench: $(STAMP)
	@tools/install-system-deps.sh bench
	$(BIN)/python bench/sim_speed.py
	$(BIN)/python bench/capture_speed.py
	$(BIN)/python bench/optics_speed.py
	$(BIN)/python bench/optics_stage_speed.py
	$(BIN)/python bench/defocus_speed.py
	$(BIN)/python bench/dng_write_speed.py
	$(BIN)/python bench/develop_speed.py
	$(BIN)/python bench/develop_accuracy.py
	$(BIN)/python bench/web_capture_speed.py
	$(BIN)/python bench/web_load.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
