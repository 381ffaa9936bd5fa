# Every target installs what it needs first, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVER_VERSION ?= 3.1.0
DEMO_ASSETS ?= 3000

.PHONY: install test test-slow lint demo demo-review bench cassettes clean

install: $(VENV)/.installed

# PYTHONWARNINGS: setuptools prints a banner at every editable install (about folders named like the
# package), which reads like a problem of ours.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# pytest exits 5 when it collected no tests: not a failure of the code, so not of CI either.
test: install
	$(BIN)/pytest -q -n 2 -p no:cacheprovider || [ $$? -eq 5 ]
	$(BIN)/ruff check immich_mirror autotag tests bench
	$(BIN)/mypy immich_mirror autotag

test-slow: install
	$(BIN)/pytest -q -n 2 -m slow -p no:cacheprovider

lint: install
	$(BIN)/ruff check immich_mirror autotag tests bench
	$(BIN)/mypy immich_mirror autotag

demo: install
	$(BIN)/python -m autotag.demo --assets $(DEMO_ASSETS) --server-version $(SERVER_VERSION)

# The same demo library, synced, with `autotag review` serving it until Ctrl-C (prints the URL).
demo-review: install
	$(BIN)/python -m autotag.demo --review --assets $(DEMO_ASSETS) --server-version $(SERVER_VERSION)

bench: install
	$(BIN)/python -m bench.dateparse
	$(BIN)/python -m bench

# The key travels in the environment only; @ keeps make from echoing it.
cassettes: install
	@IMMICH_URL="$(IMMICH_URL)" IMMICH_API_KEY="$(IMMICH_API_KEY)" $(BIN)/python -m immich_mirror.api.record --out cassettes

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
