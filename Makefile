# Two commands on a fresh machine: `make run` and `make test`. Needs Python 3.11, 3.12 or 3.13; no root.
SUPPORTED_PYTHONS := python3.11 python3.12 python3.13
# PYTHON=... picks the interpreter; otherwise the first supported one that runs (a pyenv shim is on PATH for every
# version pyenv knows, but fails unless that version is selected, so being on PATH is not enough).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach candidate,$(SUPPORTED_PYTHONS),$(shell $(candidate) -c 'import sys' >/dev/null 2>&1 && echo $(candidate))))
endif
# Empty: pip's own indexes (here the CPU build on disk). Set it to a CPU-only wheel index, e.g.
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu, where PyPI's default torch (the CUDA build) is not wanted.
TORCH_INDEX_URL ?=
# Feedback exports (`moderation feedback export FILE`) to fold into `make train-toxicity`, space-separated.
EXTRA ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml docker/constraints.txt | sha256sum | cut -c1-12)

.PHONY: run test lint typecheck install train-conspiracy train-toxicity bench clean

$(STAMP): pyproject.toml docker/constraints.txt
	@if test -x $(BIN)/python; then \
		echo "make: reusing $(VENV) ($$($(BIN)/python -V)); make clean first to build it with another Python"; \
	elif test -z "$(PYTHON)"; then \
		echo "make: none of $(SUPPORTED_PYTHONS) runs here (set PYTHON=...)"; exit 1; \
	elif ! $(PYTHON) -c 'import sys' >/dev/null 2>&1; then \
		echo "make: PYTHON=$(PYTHON) does not run here"; exit 1; \
	else \
		echo "make: using $(PYTHON) ($$($(PYTHON) -V))" && $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned, never a CUDA build pulled by a dependency: the CPU build on disk here, or the one at
	# TORCH_INDEX_URL when that is set.
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
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
	$(BIN)/ruff check service modelling tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

train-conspiracy: $(STAMP)
	$(BIN)/moderation train conspiracy

train-toxicity: $(STAMP)
	$(BIN)/moderation train toxicity $(foreach file,$(EXTRA),--extra $(file))

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py --model embedded
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py --model bert-base
