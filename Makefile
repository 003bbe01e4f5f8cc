# The whole set-up on a fresh machine with only Python: `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 43809
STORAGE ?= file:var/storage
DEV_USERS := var/dev-users.txt
PYTEST_ARGS ?=

.PHONY: all install run run-tls test bench lint clean

all: test

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[s3,test]'
	touch $(STAMP)

install: $(STAMP)

# Serves on http://$(HOST):$(PORT)/api/dsio/filters/v1 with local-disk storage under ./var/.
# Without FILTERS_USERS / FILTERS_USERS_FILE a development user is created once and printed.
run: $(STAMP)
	@mkdir -p var
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then $(BIN)/python scripts/dev_users.py $(DEV_USERS); fi
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then export FILTERS_USERS_FILE=$(DEV_USERS); fi; \
	  exec $(BIN)/filters-server --host $(HOST) --port $(PORT) --storage $${FILTERS_STORAGE:-$(STORAGE)}

# Like `run`, over HTTPS with a development certificate for localhost, 127.0.0.1 and ::1 kept in
# var/tls/ (created once; trust var/tls/ca.pem, see README "HTTPS").
run-tls: $(STAMP)
	@mkdir -p var
	@$(BIN)/python -m filters_server.devcert var/tls
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then $(BIN)/python scripts/dev_users.py $(DEV_USERS); fi
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then export FILTERS_USERS_FILE=$(DEV_USERS); fi; \
	  exec $(BIN)/filters-server --host $(HOST) --port $(PORT) --storage $${FILTERS_STORAGE:-$(STORAGE)} \
	    --tls-cert var/tls/server.pem --tls-key var/tls/server-key.pem

# Starts every service the tests use (an S3 endpoint), runs the suite, stops them.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_images.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis build *.egg-info
