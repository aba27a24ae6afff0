# `make demo` and `make test` each set everything up on a fresh machine (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench temporal-dev har-fixtures clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/ensure-chromium.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# compat: the checkout itself goes on sys.path, where yt-dlp's plugin finder looks for
	# yt_dlp_plugins/ (setuptools' default editable import hook is invisible to it).
	$(PY) -m pip install -q --config-settings editable_mode=compat -e '.[dev,temporal]'
	bash scripts/ensure-chromium.sh
	touch $(STAMP)

demo: install
	$(PY) -m sora_browser.testing.demo

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check sora_browser tests benchmarks yt_dlp_plugins
	$(VENV)/bin/ruff format --check sora_browser tests benchmarks yt_dlp_plugins
	$(VENV)/bin/mypy

bench: install
	bash scripts/ensure-bench-tools.sh
	$(PY) benchmarks/bench_resolve.py
	$(PY) benchmarks/bench_ytdlp.py
	$(PY) benchmarks/bench_download.py
	$(PY) benchmarks/bench_browser.py
	$(PY) benchmarks/bench_temporal.py
	$(PY) benchmarks/bench_archive.py
	$(PY) benchmarks/bench_warc.py

temporal-dev: install
	$(PY) -m sora_browser temporal-dev

har-fixtures: install
	$(PY) -m sora_browser.testing.record_har

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
