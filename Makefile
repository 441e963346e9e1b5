# Two commands do everything on a fresh machine:
#   make run    set up, build the graph and search index from corpus/, and serve them
#   make test   set up (Python and Debian packages) and run the whole test suite
VENV ?= .venv
PYTHON ?= python3
KG = $(VENV)/bin/kg
EDITOR_JS = web/static/sparql/editor.js

.PHONY: setup system-deps js-test-deps run build serve test check audit lock bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	# Byte-compiled once here: where PYTHONDONTWRITEBYTECODE is set (or the service user cannot
	# write the checkout), every `kg serve` would otherwise compile kg and web again as it starts.
	$(VENV)/bin/python -m compileall -q src web > /dev/null
	touch $@

# The SPARQL editor's script: CodeMirror from npm at package-lock.json's versions, bundled by esbuild.
$(EDITOR_JS): package.json package-lock.json web/editor/sparql-editor.js
	./scripts/web-assets.sh

setup: $(VENV)/.installed $(EDITOR_JS)

system-deps:
	./scripts/system-deps.sh

# Test-only npm packages (axe-core for tests/test_browser_layout.py), at the versions tests/axe/package-lock.json pins.
js-test-deps: tests/axe/node_modules/.installed
tests/axe/node_modules/.installed: tests/axe/package.json tests/axe/package-lock.json
	npm ci --prefix tests/axe --no-audit --no-fund
	touch $@

build: setup
	$(KG) build

run: build
	$(KG) serve

test: setup system-deps js-test-deps audit check
	$(VENV)/bin/python -m pytest

# The quick local loop, and the first thing `make test` runs: lint, format and types
# (configured in pyproject.toml). `ruff format src web` fixes the format.
check: setup
	$(VENV)/bin/ruff check src web
	$(VENV)/bin/ruff format --check src web
	$(VENV)/bin/mypy

# pip-audit over the locked dependency set; where no vulnerability database can be reached it
# says NOT AUDITED and the test run goes on (scripts/audit.py).
audit: setup
	$(VENV)/bin/python scripts/audit.py

# Write requirements.lock: the exact versions the test environment runs.
lock: setup
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^kg==' > requirements.lock

clean:
	rm -rf data .pytest_cache
