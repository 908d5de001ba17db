# The two commands: `make report` (set-up + the default period) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DATASET ?=
PERIOD ?=
RUN := $(PY) -m helpers

.PHONY: help venv spark dev data report reports new-period stages cjk-font test bench bench-large lab lock clean

help:
	@echo "make report                    set up (first time) and build the default period of every dataset"
	@echo "make report DATASET=d [PERIOD=p] build one period of one dataset (default: its default period)"
	@echo "make reports                   build every period of every dataset"
	@echo "make new-period [DATASET=d] PERIOD=YYYY-MM   write params/<dataset>/<period>.yaml"
	@echo "make stages                    print the stage catalog"
	@echo "make spark                     install the Spark engine (pyspark) for engine.backend: spark"
	@echo "make cjk-font                  install the Chinese font a report in Chinese needs (apt; root or sudo)"
	@echo "make test                      the whole test suite"
	@echo "make bench                     benchmarks -> benchmarks/results.{json,md}, results_clv.json, results_events.{json,md}, results_basket.{json,md}"

# Runtime environment: rebuilt only when the pins change.
$(VENV)/.runtime: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# The Spark engine (engine.backend: spark): pyspark; Java comes from the system (default-jre-headless).
$(VENV)/.spark: $(VENV)/.runtime requirements-spark.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-spark.txt
	@touch $@

# Test environment: runtime + Spark + test tools (pytest, nbval, hypothesis).
$(VENV)/.dev: $(VENV)/.spark requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.runtime
spark: $(VENV)/.spark
dev: $(VENV)/.dev

# The bundled data: CDNOW's transaction log ships inside the lifetimes package; the demo shop is
# generated (20,000 customers, 2023-2024, fixed seed; again whenever its generator changes), with its
# params (params/demo/: the committed files, written identically).
DEMO_CUSTOMERS := 20000
DEMO_SEED := 20240101
data/raw/cdnow/cdnow_transactions.txt: | $(VENV)/.runtime
	$(RUN) bundled-data

data/raw/demo/manifest.json: $(wildcard src/helpers/synth_shop/*.py) | $(VENV)/.runtime
	$(RUN) synth-shop --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --out data/raw/demo/ --params params/demo/

data: data/raw/cdnow/cdnow_transactions.txt data/raw/demo/manifest.json

# No DATASET and no PERIOD: the default period of every dataset.
report: venv data
	$(RUN) run $(if $(DATASET)$(PERIOD),$(if $(DATASET),--dataset $(DATASET)) $(if $(PERIOD),--period $(PERIOD)),--default-periods)

reports: venv data
	$(RUN) run --all-datasets

new-period: venv
	@test -n "$(PERIOD)" || { echo "usage: make new-period [DATASET=name] PERIOD=YYYY-MM"; exit 2; }
	$(RUN) new-period $(PERIOD) $(if $(DATASET),--dataset $(DATASET))

stages: venv
	$(RUN) stages

# A report with report.language: zh draws Chinese text in its charts: a CJK font (Debian's
# fonts-wqy-microhei). The runner stops before building such a report when none is installed.
cjk-font:
	bash tests/system_deps.sh cjk-font

test: dev data
	bash tests/system_deps.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

bench: dev data
	$(PY) benchmarks/run_bench.py --sizes 1000000 10000000 --spark-sizes 10000000
	$(PY) benchmarks/bench_clv.py --customers 1000000
	$(PY) benchmarks/bench_churn.py --customers 1000000
	$(PY) benchmarks/bench_events.py --rows 10000000
	$(PY) benchmarks/bench_basket.py --baskets 1000000 --products 5000

bench-large: dev data
	$(PY) benchmarks/run_bench.py --sizes 100000000 --skip-cdnow --out benchmarks/results_large.json
	$(PY) benchmarks/bench_events.py --rows 100000000 --chain --out benchmarks/results_events_large.json

lab: venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf data/processed/*/ data/processed/.staging data/interim reports/*/ reports/.[a-z]* reports/index.html
