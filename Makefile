# The two commands of the README:
#   make demo   set up (if needed) and run the end-to-end loopback demo -> out/demo
#   make test   set up (if needed, with the cluster extra: Ray) and run the test suite
#   make eval   the paper's claims measured (sdr-semcom eval, 3-7 min on 2 cores) -> out/eval
# (setup and setup-cluster also set up the Sionna channel's interpreter, .venv-sionna: scripts/setup.sh)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-cluster setup-sionna demo eval test test-fast bench grc clean

setup:
	@bash scripts/setup.sh

# setup plus the cluster extra (Ray); like setup, it also sets up the Sionna channel's interpreter
setup-cluster:
	@bash scripts/setup.sh --cluster

# only the Sionna channel's interpreter (.venv-sionna; Debian 13: Sionna in .venv)
setup-sionna:
	@bash scripts/setup.sh --sionna

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
