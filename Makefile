# groomguard — `make run` and `make test` do all set-up on a fresh machine.
#
# TORCH_SPEC is pinned to the CPU build that lies on the dev/CI machines' disk; on a GPU host
# override it, e.g. `make test TORCH_SPEC=torch==2.13.0+cu126 EXTRA_INDEX=...`.

PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
BUNDLE      ?= models/bundles/demo
HOST        ?= 127.0.0.1
PORT        ?= 8000
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
GG          := $(VENV)/bin/groomguard
STAMP       := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export MLFLOW_ENABLE_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: run test model venv lint typecheck pytest browser clean help mutation bench

help:
	@echo "make run    - set up, build the demo model if missing, start the scoring service on $(HOST):$(PORT)"
	@echo "make test   - set up, then ruff + mypy + the whole pytest suite"
	@echo "make model  - build the demo bundle: synth corpus -> author split -> train -> export"
	@echo "make mutation - apply known-bad changes one at a time; every one must be caught (minutes)"
	@echo "make bench  - engine variants, HTTP appends and the naive pipeline side by side -> reports/bench.json, docs/performance.md"

# (Re)install whenever pyproject.toml changes. torch is installed first, pinned, so nothing
# later pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip setuptools wheel
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[train,scale,dev,bf16]" "$(TORCH_SPEC)"
	touch $(STAMP)

venv: $(STAMP)

# Debian's chromium for the browser tests (Playwright never downloads its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "note: chromium not installed (needs root + apt); browser tests will be skipped"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check groomguard training serving evaluation tests benchmarks

# mypy cannot follow setuptools' editable-install finder, which maps the top-level layer
# directories to groomguard.training/.serving/.evaluation; it checks a symlinked view of the
# installed layout instead (.typecheck/groomguard, rebuilt every run; errors name the view's paths).
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir .typecheck && cp -rs "$(CURDIR)/groomguard" .typecheck/groomguard
	for layer in training serving evaluation configs; do ln -s "$(CURDIR)/$$layer" .typecheck/groomguard/$$layer; done
	cd .typecheck && ../$(VENV)/bin/mypy --config-file ../pyproject.toml

# The PostgreSQL tests run whenever a server answers locally: database `test` as user `postgres`
# (created if missing; see docs/testing.md). Set GROOMGUARD_TEST_POSTGRES_URL to use another server.
# Without either they skip, visibly.
PG_LOCAL := postgresql+psycopg://postgres@127.0.0.1:5432/test
pytest: $(STAMP) browser
	@if [ -z "$$GROOMGUARD_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null 2>&1 \
	    && pg_isready -h 127.0.0.1 -p 5432 -q; then \
	  psql -w -h 127.0.0.1 -U postgres -d test -qtAc 'SELECT 1' >/dev/null 2>&1 \
	    || createdb -w -h 127.0.0.1 -U postgres test >/dev/null 2>&1 || true; \
	  if psql -w -h 127.0.0.1 -U postgres -d test -qtAc 'SELECT 1' >/dev/null 2>&1; then \
	    export GROOMGUARD_TEST_POSTGRES_URL=$(PG_LOCAL); echo "PostgreSQL tests: $(PG_LOCAL)"; \
	  else echo "note: PostgreSQL answers but database test is not reachable as postgres; set GROOMGUARD_TEST_POSTGRES_URL"; fi; \
	fi; \
	$(PY) -m pytest

# Mutation check (not part of `make test`; minutes): applies known-bad changes one at a time to a
# copy of the repository and runs the tests that must catch each. Results in docs/testing.md.
mutation: $(STAMP)
	$(PY) benchmarks/mutation.py

test: lint typecheck pytest

# Performance side by side (not part of `make test`; minutes; BENCH_FLAGS=--quick for < 3 minutes).
CHECKPOINT ?= var/train/demo/best
BENCH_DATA ?= data/demo/test.jsonl
bench: $(STAMP) $(BUNDLE)/bundle.json
	$(PY) -m benchmarks --bundle $(BUNDLE) --checkpoint $(CHECKPOINT) --data $(BENCH_DATA) \
	  --out reports/bench.json --doc docs/performance.md $(BENCH_FLAGS)

$(BUNDLE)/bundle.json: | $(STAMP)
	$(MAKE) model

model: $(STAMP)
	$(GG) data synth --n-conversations 3000 --seed 7 -o data/synth.jsonl
	$(GG) data split -i data/synth.jsonl -o data/synth-split --by author --seed 7
	$(GG) data convert --format chitchat -o data/chitchat.jsonl
	$(GG) data mix --config configs/mix-demo.yaml
	$(GG) train --config configs/train-demo.yaml

# The moderator desk's cookie is Secure by default; plain HTTP on the loopback address needs it off.
DESK_COOKIE := $(if $(filter 127.0.0.1 localhost,$(HOST)),--set desk.secure_cookie=false,)

run: $(STAMP) $(BUNDLE)/bundle.json
	$(GG) keys ensure-local -o var/local-api-key.txt
	@echo "Moderator desk: http://$(HOST):$(PORT)/review - create the first account with: $(GG) users create --name NAME --role admin --password-stdin  (then type a password of 12+ characters and press Enter)"
	$(GG) serve --config configs/serve.yaml --bundle $(BUNDLE) --host $(HOST) --port $(PORT) $(DESK_COOKIE)

clean:
	rm -rf $(VENV) var reports .pytest_cache .mypy_cache .ruff_cache
