# Two commands do everything on a fresh machine:
#   make run    set up, build the graph and search index from corpus/, and serve them
#   make test   set up (Python and Debian packages) and run the whole test suite
VENV ?= .venv
PYTHON ?= python3
KG = $(VENV)/bin/kg

.PHONY: setup system-deps run build serve test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

system-deps:
	./scripts/system-deps.sh

build: setup
	$(KG) build

run: build
	$(KG) serve

test: setup system-deps
	$(VENV)/bin/python -m pytest

clean:
	rm -rf data .pytest_cache
