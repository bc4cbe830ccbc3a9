# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test fuzz demo bench lock clean

# Create the venv and install exactly the locked versions, then the project.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/reader

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# The index's differential test against Whoosh, on many more random worlds (400 queries each).
FUZZ_WORLDS ?= 200
fuzz: $(STAMP)
	READER_FUZZ_WORLDS=$(FUZZ_WORLDS) $(BIN)/python -m pytest -n 2 -q --timeout=1200 tests/test_index_differential.py

demo: $(STAMP)
	$(BIN)/python -m reader.demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks all

# Re-pin after changing dependency ranges in pyproject.toml (needs uv).
lock:
	uv pip compile --generate-hashes --extra test --python-version 3.11 pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV)
