# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv when missing and install the pins; the stamp makes a second call instant.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.edgebench-installed
CORES  ?= 2

.PHONY: setup demo test clean-results

setup: $(STAMP)

$(STAMP): envs/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r envs/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: setup
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/demo.yaml

test: setup
	$(PY) -m pytest

clean-results:
	rm -rf results data/demo_imagenet
