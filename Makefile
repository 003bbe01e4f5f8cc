# The whole set-up on a fresh machine with only Python: `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 43809
STORAGE ?= file:var/storage
DEV_USERS := var/dev-users.txt
PYTEST_ARGS ?=

.PHONY: all install run run-tls test test-pythons lint bench bench-quick filter-pictures clean

all: lint test

# What running needs (the server, S3 support, the development certificate of run-tls) ...
$(RUN_STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[s3,tls]'
	touch $(RUN_STAMP)

# ... and what testing and linting need on top.
$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[s3,test,lint]'
	touch $(STAMP)

install: $(STAMP)

# Serves on http://$(HOST):$(PORT)/api/dsio/filters/v1 with local-disk storage under ./var/.
# Without FILTERS_USERS / FILTERS_USERS_FILE a development user is created once and printed.
run: $(RUN_STAMP)
	@mkdir -p var
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then $(BIN)/python scripts/dev_users.py $(DEV_USERS); fi
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then export FILTERS_USERS_FILE=$(DEV_USERS); fi; \
	  exec $(BIN)/filters-server --host $(HOST) --port $(PORT) --storage $${FILTERS_STORAGE:-$(STORAGE)}

# Like `run`, over HTTPS with a development certificate for localhost, 127.0.0.1 and ::1 kept in
# var/tls/ (created once; trust var/tls/ca.pem, see README "HTTPS").
run-tls: $(RUN_STAMP)
	@mkdir -p var
	@$(BIN)/python -m filters_server.devcert var/tls
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then $(BIN)/python scripts/dev_users.py $(DEV_USERS) --tls; fi
	@if [ -z "$$FILTERS_USERS$$FILTERS_USERS_FILE" ]; then export FILTERS_USERS_FILE=$(DEV_USERS); fi; \
	  exec $(BIN)/filters-server --host $(HOST) --port $(PORT) --storage $${FILTERS_STORAGE:-$(STORAGE)} \
	    --tls-cert var/tls/server.pem --tls-key var/tls/server-key.pem

# The architecture's rules (docs/architecture.md), checked: lint, format, types, import contracts.
LINT_PATHS := filters_server backends tests bench scripts fuzz
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy filters_server backends filters_client
	$(BIN)/lint-imports

S3_TEST_DIR := var/test-s3

# Starts every service the tests use (an S3 endpoint: moto's server on loopback), runs the
# whole suite against it, and stops it whatever the outcome.
test: $(STAMP)
	@mkdir -p $(S3_TEST_DIR)
	$(BIN)/python tests/s3_endpoint.py start --port-file $(S3_TEST_DIR)/port --pid-file $(S3_TEST_DIR)/pid --log $(S3_TEST_DIR)/moto.log
	FILTERS_TEST_S3_ENDPOINT=http://127.0.0.1:$$(cat $(S3_TEST_DIR)/port) $(BIN)/python -m pytest --ignore=tests/pythons $(PYTEST_ARGS); \
	  status=$$?; $(BIN)/python tests/s3_endpoint.py stop --pid-file $(S3_TEST_DIR)/pid; exit $$status

# `pip install .` (no extras) into a fresh venv of the oldest and the newest Python that setup.cfg
# claims, then one upload with each; an interpreter this machine lacks is skipped, saying so.
test-pythons: $(STAMP)
	$(BIN)/python -m pytest tests/pythons -rs $(PYTEST_ARGS)

BENCH_STAMP := $(VENV)/.installed-bench

# The bench extra (ISA-L for the upload floor, matplotlib for the pictures) on top of `install`.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[s3,test,bench]'
	touch $(BENCH_STAMP)

# Each benchmark measures the project and its baseline in the same run, on both corpora (bench/corpus.py),
# and prints the ratios; `bench` also redraws docs/img/bench-*.png. See docs/benchmarks.md.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/bench_images.py --plots docs/img
	$(BIN)/python bench/bench_filters_http.py --plots docs/img
	$(BIN)/python bench/bench_filters.py
	$(BIN)/python bench/bench_pngcheck.py
	$(BIN)/python bench/bench_s3.py
	$(BIN)/python bench/bench_dicom.py
	$(BIN)/python bench/bench_viewer.py
	$(BIN)/python bench/bench_client.py
	$(BIN)/python bench/bench_processes.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/bench_images.py --quick
	$(BIN)/python bench/bench_filters_http.py --quick
	$(BIN)/python bench/bench_client.py --quick

# Regenerates the before/after pictures in docs/img from a synthetic phantom.
filter-pictures: $(STAMP)
	$(BIN)/python scripts/make_filter_pictures.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis build *.egg-info

.PHONY: demo sim

# The modality flow end to end: simulator + filters server on free loopback ports, one acquisition,
# every filter; results in ./demo-output/.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The Modality API simulator on http://$(HOST):43810/api/dsio/modality/v1 (users: FILTERS_SIM_USERS, default sim:sim).
sim: $(STAMP)
	exec $(BIN)/filters-modality-sim --host $(HOST) --port $${SIM_PORT:-43810}
