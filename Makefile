# VeloZ developer entry points. `make test` and `make demo` are the two a new user needs.
SHELL := /bin/bash
PY := .venv/bin/python
CORE_SRC := $(wildcard veloz/_core/*.pyx veloz/_core/*.pxd) setup.py
BUILD_DEPS := pip setuptools wheel 'cython>=3.1' 'numpy>=2'
# cython-lint runs pycodestyle from PATH: the venv's tools come first
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: test build build-checked bench demo lint annotate wheel clean

DEMO_SECONDS ?= 60

# The virtualenv with the package installed editable (checked build) and its test/dev extras.
.venv/.deps: pyproject.toml setup.py
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -U $(BUILD_DEPS)
	VELOZ_CYTHON_CHECKS=1 $(PY) -m pip install -q --no-build-isolation -e '.[test,dev]'
	mkdir -p .build && rm -f .build/release.stamp && touch .build/checked.stamp
	touch $@

# Checked build (bounds/wraparound checks, line tracing): what the tests run against.
.build/checked.stamp: $(CORE_SRC) | .venv/.deps
	mkdir -p .build
	VELOZ_CYTHON_CHECKS=1 $(PY) setup.py -q build_ext --inplace $(if $(wildcard .build/release.stamp),--force,)
	rm -f .build/release.stamp && touch $@

# Release build: what benchmarks, the demo and users run.
.build/release.stamp: $(CORE_SRC) | .venv/.deps
	mkdir -p .build
	VELOZ_CYTHON_CHECKS=0 $(PY) setup.py -q build_ext --inplace $(if $(wildcard .build/checked.stamp),--force,)
	rm -f .build/checked.stamp && touch $@

build: .build/release.stamp
build-checked: .build/checked.stamp

test: .build/checked.stamp
	VELOZ_BENCH_SMOKE=1 $(PY) -m pytest -q --benchmark-disable

bench: .build/release.stamp
	$(PY) -m pytest bench -q -p no:randomly --benchmark-only \
		--benchmark-columns=median,iqr,ops,rounds --benchmark-sort=name

demo: .build/release.stamp
	@echo "make demo: simulator + BTCUSDT feed + gateway + market maker for $(DEMO_SECONDS) s, then the latency report"
	@echo "(veloz up with veloz/config/examples/up.toml; logs under the run dir it names; Ctrl-C stops early)"
	.venv/bin/veloz up --duration $(DEMO_SECONDS)

lint: .build/checked.stamp
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/cython-lint --max-line-length 100 veloz/_core/
	.venv/bin/mypy
	.venv/bin/lint-imports
	$(PY) -m mypy.stubtest veloz._core --allowlist .stubtest-allowlist

annotate: | .venv/.deps
	VELOZ_CYTHON_CHECKS=0 .venv/bin/cython -a -3 -I . veloz/_core/*.pyx
	@echo "annotated HTML beside each .pyx in veloz/_core/ (yellow lines call into Python)"

wheel: | .venv/.deps
	$(PY) -m pip wheel --no-deps -w dist .

clean:
	rm -rf build dist .build *.egg-info veloz/_core/*.so veloz/_core/*.c veloz/_core/*.html
