# Two commands on a fresh machine: `make run` and `make test`. Needs python3.11; no root.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml docker/constraints.txt | sha256sum | cut -c1-12)

.PHONY: run test lint typecheck install train-conspiracy bench clean

$(STAMP): pyproject.toml docker/constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build on disk, never a CUDA build pulled by a dependency.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# Runtime dependencies at the image's exact versions (docker/constraints.txt), transitive ones included:
	# a new release of one of those on PyPI changes neither the tests' venv nor the image.
	$(BIN)/python -m pip install --quiet -c docker/constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	HF_HUB_OFFLINE=1 exec $(BIN)/moderation serve

test: $(STAMP) lint typecheck
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check service tests

typecheck: $(STAMP)
	$(BIN)/mypy

train-conspiracy: $(STAMP)
	$(BIN)/moderation train conspiracy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py --model embedded
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py --model bert-base
