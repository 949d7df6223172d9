# The two commands in the README: `make run` and `make test`; and `make serve`
# for production (README, "Production").
PORT ?= 8000
BIND ?= 127.0.0.1
PROCESSES ?= 2
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv, pinned, comes from PyPI into .tools: the same uv on every machine.
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
# Trust the machine's certificate store (some networks inspect TLS).
export UV_SYSTEM_CERTS := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run serve test lint bench clean messages

# The interface's languages besides English (settings.LANGUAGES). Their
# catalogs (locale/*/LC_MESSAGES/*.po) are compiled here, never committed.
LOCALES := es fr de pt_BR zh_Hans ar
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

%.mo: %.po
	@command -v msgfmt >/dev/null || { echo "msgfmt is missing: apt-get install -y gettext"; exit 1; }
	msgfmt --check -o $@ $<

# After changing a user-visible string: gather every message into the
# catalogs, for translating (tests/test_translations.py says what is missing).
MAKEMESSAGES := $(BIN)/python manage.py makemessages $(foreach l,$(LOCALES),-l $(l)) \
	--no-obsolete --no-location --ignore=.venv --ignore=.tools --ignore=node_modules \
	--ignore=staticfiles --ignore=tests --ignore=test-artifacts
messages: $(VENV)/.synced
	DJANGO_DEBUG=1 $(MAKEMESSAGES)
	DJANGO_DEBUG=1 $(MAKEMESSAGES) -d djangojs

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The page's Markdown renderer and sanitizer, axe-core for the browser tests, madge for the import-cycle check,
# acorn for the check that the scripts' words are translated (tests/static).
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.synced node_modules/.installed $(CATALOGS)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	@$(BIN)/python manage.py devaccount --port $(PORT)
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) visionqa.asgi:application

# Production: DEBUG off whatever the shell says, so DJANGO_SECRET_KEY and the
# rest of the production settings must be set (README, "Production").
serve: export DJANGO_DEBUG :=
serve: $(VENV)/.synced node_modules/.installed $(CATALOGS)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	exec $(BIN)/python manage.py serve --processes $(PROCESSES) --host $(BIND) --port $(PORT)

test: $(VENV)/.synced node_modules/.installed $(CATALOGS)
	$(BIN)/ruff check .
	$(BIN)/mypy
	node_modules/.bin/madge --circular --extensions js static/chat
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .tools node_modules staticfiles test-artifacts
