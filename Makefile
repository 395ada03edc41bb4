# The two commands: `make up` (everything on an embedded PostgreSQL) and `make test` (the full suite).
# Both install what they need into .venv from this repository's own files: `up` the package with its
# runtime dependencies only (.installed-runtime), `test` adds the test tools on top (.installed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The real Claude Code CLI the suite runs (tests/claude_code). Pinned exactly: from 2.1.198 its package
# declares node >= 22 and on node 20 a plain install silently picks 2.1.197; the CLI is a native
# binary (an optional dependency), so the pinned version runs on node 20 despite the engine warning.
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE_CODE_DIR := .claude-code

.PHONY: up test lint typecheck postgres deploy-tools claude-code browser bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Newer than .installed-runtime, so a reinstall of the runtime (pyproject.toml changed) redoes this too.
$(VENV)/.installed: $(VENV)/.installed-runtime
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# PostgreSQL binaries for the embedded cluster: the machine's, else Debian's package (as root), else
# the pgserver wheel.
postgres: $(VENV)/.installed-runtime
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		echo "PostgreSQL binaries: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		$(BIN)/python -m pip install --quiet pgserver; \
	fi

# Debian's docker-compose (v1, Python) validates docker-compose.yml in tests/deploy; no engine needed.
deploy-tools:
	@if command -v docker-compose >/dev/null 2>&1; then \
		echo "docker-compose: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; \
	else \
		echo "install docker-compose (Debian: apt-get install --no-install-recommends docker-compose)" >&2; exit 1; \
	fi

$(CLAUDE_CODE_DIR)/.installed-$(CLAUDE_CODE_VERSION):
	mkdir -p $(CLAUDE_CODE_DIR)
	echo '{"private": true}' > $(CLAUDE_CODE_DIR)/package.json
	cd $(CLAUDE_CODE_DIR) && npm install --no-audit --no-fund --save-exact --engine-strict=false \
		@anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	test "$$($(CLAUDE_CODE_DIR)/node_modules/.bin/claude --version | cut -d' ' -f1)" = "$(CLAUDE_CODE_VERSION)"
	touch $@

claude-code: $(CLAUDE_CODE_DIR)/.installed-$(CLAUDE_CODE_VERSION)

# Debian's Chromium for the UI's browser tests (Playwright drives it; it never downloads a browser).
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "install chromium (Debian: apt-get install --no-install-recommends chromium)" >&2; exit 1; \
	fi

# exec: make's child is `up` itself, so a SIGTERM to make reaches it; for a SIGINT to make alone
# (make then only waits for its children), `up` watches its parent (cli/parent_watch.py).
up: postgres
	exec $(BIN)/traceability up

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

test: $(VENV)/.installed postgres deploy-tools claude-code browser lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed postgres
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(CLAUDE_CODE_DIR) .pytest_cache .mypy_cache .ruff_cache
