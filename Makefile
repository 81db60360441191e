# The two commands of the README:
#   make demo   set up (if needed) and run the end-to-end loopback demo -> out/demo
#   make test   set up (if needed, with the cluster extra: Ray) and run the test suite
#   make eval   the paper's claims measured (sdr-semcom eval, 3-7 min on 2 cores) -> out/eval
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-cluster demo eval test test-fast bench grc clean

setup:
	@bash scripts/setup.sh

setup-cluster:
	@bash scripts/setup.sh --cluster

demo: setup
	$(VENV)/bin/sdr-semcom demo --out out/demo
	$(VENV)/bin/sdr-semcom eval --quick --out out/eval-quick

eval: setup
	$(VENV)/bin/sdr-semcom eval --out out/eval

test: setup-cluster
	$(PY) -m pytest -q tests

test-fast: setup-cluster
	$(PY) -m pytest -q -m "not slow" tests

bench: setup
	$(PY) benchmarks/phy_bench.py --out out/bench

clean:
	rm -rf out .pytest_cache
