# cvkit developer entry points. `make test` and `make demo` work from a fresh clone, offline except for
# the package registry: they create .venv when missing and install the pinned torch pair from it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/cvkit_*)
STAMP := $(VENV)/.installed
TORCH := torch==2.14.1 torchvision==0.29.1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test lint demo bench bench-gpu completions wheels clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]' $(addprefix -e ,$(PLUGINS))
	touch $@

lint: setup
	$(BIN)/ruff check cvkit plugins tests

test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

bench: setup
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/coco_eval.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python -m pytest -q -m bench -p no:cacheprovider -s tests

# The prepared GPU benchmark (one CUDA GPU, under 8 minutes); writes benchmarks/gpu-table.md.
bench-gpu: setup
	$(BIN)/python benchmarks/gpu.py --out benchmarks/gpu-table.md

# Wheels of the core and of every first-party plugin into dist/: `pip install --find-links dist "cvkit[all]"`.
wheels: setup
	$(BIN)/python -m pip wheel -q --no-deps -w dist . $(PLUGINS)

demo: setup
	bash scripts/demo.sh

completions: setup
	for sh in bash zsh fish; do $(BIN)/python -m cvkit.completions $$sh > completions/cvkit.$$sh; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
