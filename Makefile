# homeport: `make demo` shows the whole loop on the simulator; `make test` runs every test for real.
# Only Python 3.11 is needed: the venv and uv (the lock file's installer) are made here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv

.PHONY: all venv demo test test-deps lint bench golden schema docs clean fuzz

all: venv

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --all-extras --python $(PYTHON)
	touch $@

venv: $(VENV)/.synced

demo: venv
	$(VENV)/bin/homeport demo

test-deps:
	scripts/install-test-deps.sh

test: venv test-deps
	scripts/run-tests.sh

lint: venv
	$(VENV)/bin/ruff check reconciler mcp_server tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: venv
	$(VENV)/bin/python bench/run_all.py $(BENCH_ARGS)

fuzz: venv
	$(VENV)/bin/python bench/fuzz_report.py --cases $${FUZZ_CASES:-10000}

golden: venv
	scripts/update-golden.sh

docs: venv
	$(VENV)/bin/python scripts/update-provider-docs.py

schema: venv
	$(VENV)/bin/homeport schema --out schemas

clean:
	rm -rf $(VENV) $(TOOLS) rendered-configs .pytest_cache .mypy_cache .ruff_cache
